"""Network namespaces without a process per namespace: unshare in a short-lived thread,
bind-mount it under /run/netns (as `ip netns add` does, so `ip netns exec` works), and
enter namespaces per thread with setns(2). Python 3.11 has no os.setns/os.unshare, so
libc is called through ctypes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_REC = 16384
MS_BIND = 4096
MS_SHARED = 1 << 20
MNT_DETACH = 2

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
    _check(_libc.mount(target, target, b"none", MS_BIND | MS_REC, None), "mount --bind", NETNS_DIR)
    _check(_libc.mount(b"", target, b"none", MS_SHARED | MS_REC, None), "mount --make-rshared", NETNS_DIR)


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def run_in_new_namespace(name: str, work: Callable[[], T]) -> T:
    """Create namespace `name` and run `work` inside it, on a thread of its own.

    The mount file is created before unshare, so a crash leaves at worst an empty file
    that `remove` handles. `work` (which puts the ownership mark on lo) runs in the new
    namespace *before* it is mounted: a namespace is never left mounted without its mark
    (a crash before the mount takes the namespace with the thread).
    """
    path = path_of(name)
    result: list = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444)
            os.close(fd)
            _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)", name)
            result.append(work())
            source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
            _check(_libc.mount(source, path.encode(), b"none", MS_BIND, None), "mount --bind", path)
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=body, name=f"netns:{name}")
    thread.start()
    _join(thread)
    if failure:
        raise failure[0]
    return result[0]


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
    result: list = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            fd = os.open(path_of(name), os.O_RDONLY)
            try:
                setns(fd)
            finally:
                os.close(fd)
            result.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=body, name=f"netns:{name}")
    thread.start()
    _join(thread)
    if failure:
        raise failure[0]
    return result[0]


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Enter a namespace on the *current* thread for the block, then return.

    Sockets made inside keep the namespace they were made in; use this on one thread at a
    time (e.g. the prober's), never around code that may switch threads."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        fd = os.open(path_of(name), os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
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
