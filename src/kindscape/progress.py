"""Progress of long work on stderr: a live bar on a terminal, one line per finished step
otherwise (CI logs stay short)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator

# What long work reports to: (step, done, total), e.g. ("namespaces", 64, 1000).
Progress = Callable[[str, int, int], None]


def sink(progress: Progress | None) -> Progress:
    """Where progress goes: the caller's callable; None (the default) says nothing."""
    return no_progress if progress is None else progress


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress sink: says nothing."""


def with_crash_hook(progress: Progress) -> Progress:
    """Test hook for crash safety: KINDSCAPE_TEST_KILL_AT=<step>[:<count>] makes the
    process SIGKILL itself when that progress step reaches the count (as a crash would)."""
    spec = os.environ.get("KINDSCAPE_TEST_KILL_AT")
    if not spec:
        return progress
    step, _, count = spec.partition(":")

    def hooked(name: str, done: int, total: int) -> None:
        progress(name, done, total)
        if name == step and done >= int(count or 0):
            os.kill(os.getpid(), signal.SIGKILL)
    return hooked


@contextlib.contextmanager
def progress_printer() -> Iterator[Progress]:
    if sys.stderr.isatty():
        with _live() as report:
            yield report
        return
    started = time.monotonic()

    def report(step: str, done: int, total: int) -> None:
        if total and done >= total:
            sys.stderr.write(f"  {step}: {done}/{total} ({time.monotonic() - started:.2f} s)\n")

    yield report


@contextlib.contextmanager
def _live() -> Iterator[Progress]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn
    tasks: dict[str, int] = {}
    with Bar(TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(),
             TimeElapsedColumn(), transient=False) as bar:
        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=done, total=max(total, 1))
        yield report
