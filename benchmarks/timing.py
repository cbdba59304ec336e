"""Wall time of a block, recorded in a result dict (shared by the in-process runners,
which both run as scripts from this directory, under different interpreters)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


@contextlib.contextmanager
def timed(result: dict, key: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        result[key] = time.perf_counter() - started
