"""Measuring commands from the outside: wall time and peak memory of a real process,
memory the kernel hands out, and waiting for a quiet machine between measurements."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    seconds: float
    max_rss_kb: int  # peak resident memory of the process itself (not of its children)
    code: int
    stdout: str
    stderr: str


def run_timed(argv: list[str], timeout: float = 600, env: dict[str, str] | None = None) -> Run:
    """Run argv to completion; wall time and the process's own peak RSS (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, proc.returncode, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))


def kindscape_command() -> list[str]:
    """The console script pip installed next to this interpreter (what users run), or
    `python -m kindscape` when there is none."""
    script = Path(sys.executable).parent / "kindscape"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kindscape"]


def mem_available_kb() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def peak_rss_kb(pid: int) -> int:
    """VmHWM: the highest resident memory a running process has had."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values), values[3] + values[4]


def busy(interval: float = 0.1) -> float:
    """The machine's CPU use (0..1) over `interval`."""
    total, idle = _cpu_times()
    time.sleep(interval)
    total2, idle2 = _cpu_times()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def settle(limit: float = 20.0, quiet: float = 0.25) -> float:
    """Wait until the CPUs are mostly idle (e.g. the kernel has finished destroying the
    namespaces of the last `down`, which it does in the background); returns the wait.
    Other users of the machine can keep it busy: give up after `limit` seconds."""
    started = time.perf_counter()
    calm = 0
    while calm < 3 and time.perf_counter() - started < limit:
        calm = calm + 1 if busy() < quiet else 0
    return time.perf_counter() - started


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def have(program: str) -> bool:
    return shutil.which(program) is not None
