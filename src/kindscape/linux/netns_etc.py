"""The files `ip netns exec NS` shows a namespace in /etc: iproute2 bind-mounts each file
of the directory /etc/netns/NS over its namesake in /etc (a pod's resolv.conf).

A directory per namespace costs a disk block, and on a filesystem mounted with `discard`
freeing a block waits for the device (~0.2 ms, one at a time): removing 9,000 pods'
directories took 3.5 s of `down`. So each distinct directory (the same files with the same
contents: the pods of one cluster and Kubernetes namespace) is made once, in a store (the
scenario's state directory), and /etc/netns/NS is a symbolic link to it. The links to one
directory are hard links of one symlink: making or removing one adds or drops a directory
entry, never an inode or a block (nsfs.make_mount_points does the same for the namespaces'
mount points). A link pointing into the store is the owner's mark: only such links are
removed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

ETC_NETNS = "/etc/netns"
SHARED = "etc-"  # the store's directories: etc-0, etc-1, ...


def link_of(path: str) -> str:
    """The namespace's directory /etc/netns/NS that holds `path` (/etc/netns/NS/FILE)."""
    directory, name = os.path.split(path)
    if os.path.dirname(directory) != ETC_NETNS or not name:
        raise ValueError(f"{path} is not a file of a namespace's {ETC_NETNS} directory")
    return directory


def groups(files: Iterable[tuple[str, str]]) -> list[tuple[tuple[tuple[str, str], ...], list[str]]]:
    """(path, content) pairs grouped as they are made: [((file name, content), ...), links]."""
    per_link: dict[str, dict[str, str]] = {}
    for path, content in files:
        per_link.setdefault(link_of(path), {})[os.path.basename(path)] = content
    shared: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for link, contents in per_link.items():
        shared.setdefault(tuple(sorted(contents.items())), []).append(link)
    return list(shared.items())


def make(files: Iterable[tuple[str, str]], store: str) -> None:
    """Write the files: each distinct directory in `store`, a link per namespace."""
    for index, (contents, links) in enumerate(groups(files)):
        target = os.path.join(store, f"{SHARED}{index}")
        os.makedirs(target, mode=0o700, exist_ok=True)  # the files stay 0644: `ip netns exec`
        # mounts them over /etc's, where a command that drops root still reads them
        for name, content in contents:
            with open(os.path.join(target, name), "w") as handle:
                handle.write(content)
        os.makedirs(ETC_NETNS, mode=0o755, exist_ok=True)
        first = None
        for link in links:
            if first is not None:
                try:
                    os.link(first, link, follow_symlinks=False)  # the symlink itself, not its target
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                        raise
            os.symlink(target, link)
            first = link


def is_owned(link: str, store: str) -> bool:
    """Whether `link` is a link into `store` (made by `make` for the store's owner)."""
    try:
        return os.readlink(link).startswith(store.rstrip("/") + "/")
    except OSError:  # gone, or not a symlink
        return False


def remove(links: Iterable[str], store: str) -> list[str]:
    """Remove the links into `store` among `links`, then the store's directories; returns
    the links removed."""
    removed = []
    for link in links:
        if is_owned(link, store):
            try:
                os.unlink(link)
                removed.append(link)
            except FileNotFoundError:
                pass
    try:
        shared = [entry for entry in os.listdir(store) if entry.startswith(SHARED)]
    except FileNotFoundError:
        shared = []
    for entry in shared:
        directory = os.path.join(store, entry)
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    return removed
