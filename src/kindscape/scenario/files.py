"""Reading scenario files and the files they reference, as untrusted input.

Scenario files travel (shared labs, files in pull requests run by CI as root), so what a
file references is read like kustomize's default load restrictor reads: the file must lie
inside the scenario file's directory tree once symlinks are resolved (unless the user lifts
that with `--allow-outside-files`), must be a regular file, at most MAX_BYTES, read within
READ_SECONDS. A FIFO, a device, a socket or a directory is refused from its fstat, before
any read: every open is O_NONBLOCK, so opening one never waits either. The scenario file
itself and standard input get the same limits.

A refusal says what and where, never the file's content (CI logs are often public).
"""

from __future__ import annotations

import errno
import os
import select
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path as FsPath

MAX_BYTES = 1024 * 1024
READ_SECONDS = 10.0
_CHUNK = 64 * 1024
OUTSIDE_HINT = ("referenced files must lie inside the scenario file's directory tree (symlinks "
                "resolved); --allow-outside-files lifts this")


class FileRefused(Exception):
    """A file that is not read; `reason` never contains any of its content."""

    def __init__(self, reason: str, hint: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class FileAccess:
    """Where a scenario's referenced files may come from: `root` (the scenario file's
    directory, resolved), or anywhere with `allow_outside`."""

    root: FsPath
    allow_outside: bool = False
    # When a list: what the scenario's validity depends on besides its own text, for up's
    # cache (cache.py): ("file", name, text) for each file read, ("path", name, resolved)
    # for each path confined by its resolved place (extraMounts' hostPath).
    depends: list[tuple[str, str, str]] | None = field(default=None, compare=False)

    def read(self, name: str) -> tuple[str, str]:
        """(the text of `name`, relative to root; the path to show): FileRefused otherwise."""
        if not isinstance(name, str) or not name or "\x00" in name:
            raise FileRefused("not a file name")
        shown = os.path.join(str(self.root), name)
        target = os.path.realpath(shown)
        if not self.allow_outside and not _inside(target, str(self.root)):
            raise FileRefused("it is outside the scenario's directory", OUTSIDE_HINT)
        confine = None if self.allow_outside else str(self.root)
        text = read_text(target, confine=confine)
        if self.depends is not None:
            self.depends.append(("file", name, text))
        return text, shown

    def is_inside(self, path: str) -> bool:
        """Whether `path` (relative to root) lies inside root once symlinks are resolved."""
        resolved = os.path.realpath(os.path.join(str(self.root), path))
        if self.depends is not None:
            self.depends.append(("path", path, resolved))
        return _inside(resolved, str(self.root))


def access_for(scenario_file: str | None, allow_outside: bool = False) -> FileAccess:
    """The FileAccess of a scenario read from `scenario_file` (None: standard input or
    text, whose references are relative to the working directory)."""
    base = os.path.dirname(os.path.abspath(scenario_file)) if scenario_file else os.getcwd()
    return FileAccess(FsPath(os.path.realpath(base)), allow_outside)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def read_text(path: str, confine: str | None = None) -> str:
    """A regular file's text: refused when it is anything else, too large, not UTF-8, or
    not read within READ_SECONDS; with `confine`, also when the file opened is not under
    that directory (a path changed between the check and the open)."""
    try:  # before opening: opening some devices does something (a watchdog starts)
        _require_regular(os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(exc.strerror or "cannot open it") from None
    try:
        info = os.fstat(fd)
        _require_regular(info.st_mode)
        if confine is not None and not _inside(os.readlink(f"/proc/self/fd/{fd}"), confine):
            raise FileRefused("it is outside the scenario's directory", OUTSIDE_HINT)
        if info.st_size > MAX_BYTES:
            raise FileRefused(f"it is too large ({info.st_size} bytes)", _LIMIT_HINT)
        return _decode(_read_bounded(fd, wait=False))
    finally:
        os.close(fd)


_LIMIT_HINT = f"at most {MAX_BYTES // 1024 // 1024} MiB"


def read_stdin() -> str:
    """Standard input's text, with the same limits: a terminal is refused (nothing would
    end it within the time bound), a pipe or a file is read until its end."""
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    try:
        info = os.fstat(fd)
    except OSError:
        raise FileRefused("it is closed") from None
    if os.isatty(fd):
        raise FileRefused("it is a terminal", "pipe the scenario in: kindscape validate - < scenario.yaml")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)):
        raise FileRefused(f"it is {_kind_of(info.st_mode)}, not a pipe or a regular file")
    return _decode(_read_bounded(fd, wait=True))


def _require_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise FileRefused(f"it is {_kind_of(mode)}, not a regular file")


def _read_bounded(fd: int, wait: bool) -> bytes:
    """Up to MAX_BYTES, before the deadline. A pipe that has nothing yet is waited on
    (`wait`) with select, never in read; a "regular" file that would block is a kernel
    file such as /proc/kmsg, not a file on disk: refused at once."""
    deadline = time.monotonic() + READ_SECONDS
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FileRefused(f"it was not read within {READ_SECONDS:g} s")
        if wait and not select.select([fd], [], [], min(left, 0.5))[0]:
            continue  # stdin need not be non-blocking: read only what is there
        try:
            chunk = os.read(fd, min(_CHUNK, MAX_BYTES + 1 - size))
        except BlockingIOError:
            if not wait:
                raise FileRefused("it would block (a kernel file, not a file on disk)") from None
            continue
        except OSError as exc:
            raise FileRefused(exc.strerror or errno.errorcode.get(exc.errno, "read error")) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise FileRefused(f"it is too large (more than {MAX_BYTES} bytes)", _LIMIT_HINT)


def _decode(raw: bytes) -> str:
    if b"\x00" in raw:
        raise FileRefused("it is binary, not YAML text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused("it is not UTF-8 text") from None


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"
