"""Packet capture on a running scenario's endpoint: tcpdump (Debian's package) run inside
the endpoint's network namespace through the runtime's exec, writing pcap."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator, Sequence

from .errors import KindscapeError, UsageError

# tcpdump's exit when `timeout --signal=INT` ended it (the file is complete: tcpdump
# finishes on SIGINT as on Ctrl-C).
TIMED_OUT = 124


def tcpdump_argv(write: str, interface: str | None = None, count: int | None = None,
                 seconds: float | None = None, filter: str | None = None) -> list[str]:
    """The capture's argv: -U writes each packet as it comes, so the file is whole at any
    end; -Z root keeps Debian's tcpdump from dropping to a user that cannot write the file."""
    argv = ["tcpdump", "-n", "-U", "-Z", "root", "-i", interface or "any", "-w", write]
    if count is not None:
        argv += ["-c", str(count)]
    if filter:
        argv.append(filter)
    if seconds is not None:
        argv = ["timeout", "--signal=INT", f"{seconds:g}", *argv]
    return argv


def check_filter(run: Callable[[Sequence[str]], "object"], interface: str | None, filter: str | None) -> None:
    """Refuse a filter tcpdump cannot compile (tcpdump -d compiles it and exits), before
    anything is captured."""
    if not filter:
        return
    done = run(["tcpdump", "-d", "-i", interface or "any", filter])
    if done.returncode == 127:
        raise KindscapeError("tcpdump not found in the endpoint: install tcpdump (Debian: apt-get install tcpdump)")
    if done.returncode != 0:
        reason = " ".join(line for line in done.stderr.splitlines() if "warning" not in line)
        raise UsageError(f"bad capture filter {filter!r}: {reason.strip() or 'tcpdump refused it'}")


@contextlib.contextmanager
def ctrl_c_ends_child() -> Iterator[None]:
    """Ctrl-C reaches the whole foreground process group: tcpdump ends on it and completes
    the file; this process keeps waiting for it instead of killing it half-way. (A Python
    handler, not SIG_IGN, which the child would inherit across exec.)"""
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def output_path(write: str) -> str:
    """Standard output, or the file as an absolute path (the command runs in another
    namespace, with the same files)."""
    return write if write == "-" else os.path.abspath(write)
