"""Group exec's output: each line of each endpoint's output whole, prefixed with the
endpoint (`cluster-a-worker/pod1: ...`), as each command finishes."""

from __future__ import annotations

import subprocess
import sys
import threading

_LOCK = threading.Lock()


def print_prefixed(endpoint: str, done: subprocess.CompletedProcess) -> None:
    """One write per line, under a lock: lines of two endpoints never mix."""
    with _LOCK:
        for stream, text in ((sys.stdout, done.stdout), (sys.stderr, done.stderr)):
            for line in (text or "").splitlines():
                stream.write(f"{endpoint}: {line}\n")
            stream.flush()
