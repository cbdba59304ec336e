"""Network namespaces without a process per namespace: unshare in a short-lived thread,
bind-mount it under /run/netns (as `ip netns add` does, so `ip netns exec` works), and
enter namespaces per thread with setns(2). Python 3.11 has no os.setns/os.unshare, so
libc is called through ctypes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_REC = 16384
MS_BIND = 4096
MS_SHARED = 1 << 20
MNT_DETACH = 2
NS_GET_NSTYPE = 0xB703  # ioctl on an nsfs file: the namespace's CLONE_NEW* type

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]

T = TypeVar("T")


def _check(result: int, what: str, target: str = "") -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}", target)


def unshare(flags: int, what: str, target: str = "") -> None:
    _check(_libc.unshare(flags), what, target)


def mount(source: bytes, target: bytes, flags: int, what: str) -> None:
    _check(_libc.mount(source, target, b"none", flags, None), what, target.decode())


def path_of(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def prepare_netns_dir() -> None:
    """Make /run/netns a shared mount point, exactly as iproute2 does on first use, so a
    namespace unmounted here is also gone from mount namespaces made by `ip netns exec`."""
    os.makedirs(NETNS_DIR, mode=0o755, exist_ok=True)
    target = NETNS_DIR.encode()
    if _libc.mount(b"", target, b"none", MS_SHARED | MS_REC, None) == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:
        _check(-1, "mount --make-rshared", NETNS_DIR)
    mount(target, target, MS_BIND | MS_REC, "mount --bind")
    mount(b"", target, MS_SHARED | MS_REC, "mount --make-rshared")


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def enter(name: str) -> None:
    """Move the calling thread into the namespace `name` (for good: see `entered`)."""
    fd = os.open(path_of(name), os.O_RDONLY)
    try:
        setns(fd)
    finally:
        os.close(fd)


def make_mount_points(names: list[str]) -> None:
    """The empty files namespaces are mounted on, made before any unshare so that a crash
    leaves at worst empty files, which `remove` handles. All are hard links of the first:
    allocating an inode can cost a millisecond on a disk-backed /run (ext4 skips inodes
    freed in the last 30-60 s, and `down` frees a thousand), a link costs microseconds."""
    first = None
    for name in names:
        path = path_of(name)
        if first is not None:
            try:
                os.link(first, path)
                continue
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))
        first = path


def _create_here(name: str, work: Callable[[str], T]) -> T:
    """Move the calling thread into a new namespace, run `work(name)` there, then mount it
    on `name`'s mount point. `work` (which puts the ownership mark on lo) runs *before*
    the mount: a namespace is never left mounted without its mark (a crash before the
    mount takes the namespace with the thread, or the next unshare leaves it)."""
    path = path_of(name)
    unshare(CLONE_NEWNET, "unshare(CLONE_NEWNET)", name)
    result = work(name)
    source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
    try:
        mount(source, path.encode(), MS_BIND, "mount --bind")
    except BaseException:
        close = getattr(result, "close", None)  # e.g. a netlink socket made inside
        if close is not None:
            close()
        raise
    return result


_DONE = object()


def create_many(names: list[str], work: Callable[[str], T], workers: int = 2) -> Iterator[tuple[str, T]]:
    """Create namespaces on `workers` threads, each calling unshare again and again (a
    thread per namespace costs more than the kernel's work); `work(name)` runs inside each
    new namespace, on its thread. Yields (name, result) as they finish; the first failure
    is raised once the workers have stopped."""
    make_mount_points(names)
    results: queue.Queue = queue.Queue()
    stop = threading.Event()

    def body(chunk: list[str]) -> None:
        try:
            for name in chunk:
                if stop.is_set():
                    break
                results.put((name, _create_here(name, work), None))
        except BaseException as exc:  # handed to the caller's thread
            stop.set()
            results.put((None, None, exc))
        finally:
            results.put(_DONE)  # the thread ends inside its last namespace: nothing else runs on it

    threads = [threading.Thread(target=body, args=(names[i::workers],), name=f"netns-maker-{i}")
               for i in range(min(workers, len(names)))]
    for thread in threads:
        thread.start()
    running, failure = len(threads), None
    try:
        while running:
            item = results.get()
            if item is _DONE:
                running -= 1
            elif item[2] is not None:
                failure = failure or item[2]
            else:
                yield item[0], item[1]
    finally:
        stop.set()
        for thread in threads:
            _join(thread)
        _close_unclaimed(results)
    if failure is not None:
        raise failure


def _close_unclaimed(results: queue.Queue) -> None:
    """Close what was made for namespaces nobody took (the caller stopped early)."""
    while not results.empty():
        item = results.get_nowait()
        close = None if item is _DONE else getattr(item[1], "close", None)
        if close is not None:
            close()


def _join(thread: threading.Thread) -> None:
    """Wait for the thread even when a signal handler raises meanwhile (Ctrl-C, SIGTERM):
    the caller's cleanup must not run while the thread is still creating things."""
    try:
        thread.join()
    except BaseException:
        thread.join()
        raise


def run_in_namespace(name: str, work: Callable[[], T]) -> T:
    """Run `work` inside an existing namespace, on a thread of its own."""
    result = run_in_each([name], lambda _name: work())[0]
    if isinstance(result, OSError):
        raise result
    return result


def run_in_each(names: list[str], work: Callable[[str], T]) -> list[T | OSError]:
    """Run `work(name)` inside each namespace in turn, all on one thread of their own (a
    thread per namespace costs more than the work); an OSError is that name's result."""
    if not names:
        return []
    results: list = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            for name in names:
                try:
                    enter(name)
                    results.append(work(name))
                except OSError as exc:
                    results.append(exc)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=body, name="netns:each")
    thread.start()
    _join(thread)
    if failure:
        raise failure[0]
    return results


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Enter a namespace on the *current* thread for the block, then return.

    Sockets made inside keep the namespace they were made in; use this on one thread at a
    time (e.g. the prober's), never around code that may switch threads."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        enter(name)
        try:
            yield
        finally:
            setns(home)
    finally:
        os.close(home)


def remove(name: str) -> bool:
    """Unmount and delete a namespace's file; True when something was removed."""
    path = path_of(name)
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):
            raise OSError(code, f"umount: {os.strerror(code)}", path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def is_mounted(name: str) -> bool:
    """Whether a network namespace is mounted on `name`'s file. Asked of the kernel: only
    an nsfs file answers NS_GET_NSTYPE (reading the link of an open namespace file gives
    `net:[...]` only under /proc; through its mount it gives the mount's path)."""
    try:
        fd = os.open(path_of(name), os.O_RDONLY)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET
    except OSError:  # ENOTTY: a plain file (e.g. an empty mount point)
        return False
    finally:
        os.close(fd)


def exists(name: str) -> bool:
    return os.path.exists(path_of(name))


def listed() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def write_sysctl(key: str, value: str) -> None:
    """Write a sysctl of the calling thread's namespace (net.* entries are per namespace)."""
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path, "w") as handle:
        handle.write(value)


def read_sysctl(key: str) -> str:
    with open("/proc/sys/" + key.replace(".", "/")) as handle:
        return handle.read().strip()
