"""The log of what kindscape runs: every external command (argv and duration) and
kernel batch, at DEBUG on the logger "kindscape.run"; `-v` shows it on stderr."""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

LOG = logging.getLogger("kindscape.run")


@contextmanager
def timed(what: str) -> Iterator[None]:
    """Log `run: WHAT (0.004 s)` once the block ends (also when it fails)."""
    if not LOG.isEnabledFor(logging.DEBUG):
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        LOG.debug("run: %s (%.3f s)", what, time.perf_counter() - start)


def argv_text(argv: Sequence[str]) -> str:
    return shlex.join(str(each) for each in argv)


def log_to_stderr() -> None:
    """`-v`: the run log on standard error, one line a command."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.DEBUG)
