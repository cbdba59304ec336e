"""Soak: many up/check/down cycles of the seed example in one long-lived process, then
many checks against one long-lived workload server. Measures what must not grow (open
files, memory, threads of the driver; open files and memory of the server) and proves
the machine is exactly as before (tests/machine.py's snapshot).

    sudo python benchmarks/soak.py                 # 100 cycles + 100 checks, a summary
    sudo python benchmarks/soak.py --cycles 20 -o json

Exit status 0 when nothing leaked and nothing grew; 1 otherwise (the summary says what).
The slow test suite runs it (tests/integration/test_soak.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import kindscape  # noqa: E402
from tests.machine import snapshot  # noqa: E402

SEED = ROOT / "examples" / "multi-cluster.yaml"
WARMUP = 5  # cycles before the baseline: imports, caches and allocator pools settle
RSS_SLACK_KIB = 2048  # allocator noise allowed between the baseline and the end


@dataclass
class Usage:
    fds: int
    rss_kib: int
    threads: int


def usage(pid: int | str = "self") -> Usage:
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    fields = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    threads = int(fields["Threads"][0])
    if pid == "self":
        # A joined thread can still be listed by the kernel for a moment after join()
        # returns; Python's own count is exact, and is what could leak here.
        threads = threading.active_count()
    return Usage(fds, int(fields["VmRSS"][0]), threads)


def settled_usage(pid: int, limit: float = 3.0) -> Usage:
    """The server's usage once it is done with the connections of the check that just
    returned: on a loaded machine it may still hold one (a reset not yet read, a DNS
    client's connection, a silent client's wait) for a moment after the prober has its
    answers. Two readings 0.3 s apart (longer than any such wait) that agree, or the
    last one after `limit` s: a descriptor that stays is still counted."""
    last = usage(pid)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = usage(pid)
        if now.fds == last.fds:
            return now
        last = now
    return last


@dataclass
class Series:
    """Usage after each round; `grew` compares the end with the baseline after warm-up."""

    samples: list[Usage] = field(default_factory=list)

    def grew(self) -> list[str]:
        if len(self.samples) <= WARMUP:
            return []
        base, last = self.samples[WARMUP - 1], self.samples[-1]
        found = []
        if last.fds > base.fds:
            found.append(f"open files {base.fds} -> {last.fds}")
        if last.threads > base.threads:
            found.append(f"threads {base.threads} -> {last.threads}")
        if last.rss_kib > base.rss_kib + RSS_SLACK_KIB:
            found.append(f"memory {base.rss_kib} KiB -> {last.rss_kib} KiB")
        return found

    def summary(self) -> dict:
        if not self.samples:
            return {}
        base = self.samples[min(WARMUP, len(self.samples)) - 1]
        last = self.samples[-1]
        return {"baseline": asdict(base), "end": asdict(last),
                "maxFds": max(s.fds for s in self.samples), "maxRssKib": max(s.rss_kib for s in self.samples)}


def cycles(count: int, driver: Series, timings: list[float]) -> list[str]:
    """`count` up/check/down cycles; returns the failures (checks not ok)."""
    failures = []
    for index in range(count):
        started = time.monotonic()
        lab = kindscape.up(SEED)
        try:
            report = lab.check()
            if not report.ok:
                failures.append(f"cycle {index}: check failed: {report.failures[:2]}")
        finally:
            lab.down()
        timings.append(time.monotonic() - started)
        driver.samples.append(usage())
    return failures


def checks_on_one_server(count: int, server: Series, driver: Series) -> list[str]:
    """`count` full checks (every pair) against one scenario's long-lived workload server."""
    failures = []
    with kindscape.up(SEED) as lab:
        pid = lab.state.processes[0]["pid"]
        for index in range(count):
            report = lab.check(all=True)
            if not all(r.reachable for r in report.results):
                failures.append(f"check {index}: unreachable pairs")
            server.samples.append(settled_usage(pid))
            driver.samples.append(usage())
    return failures


def soak(cycle_count: int = 100, check_count: int = 100) -> dict:
    before = snapshot()
    driver, cycle_driver, server, timings = Series(), Series(), Series(), []
    started = time.monotonic()
    failures = cycles(cycle_count, cycle_driver, timings)
    failures += checks_on_one_server(check_count, server, driver)
    leftovers = snapshot().diff(before)
    grown = {"driver (cycles)": cycle_driver.grew(), "driver (checks)": driver.grew(),
             "workload server": server.grew()}
    return {
        "ok": not failures and not leftovers and not any(grown.values()),
        "cycles": cycle_count, "checks": check_count,
        "seconds": round(time.monotonic() - started, 1),
        "cycleSeconds": {"mean": round(sum(timings) / len(timings), 3) if timings else None,
                         "max": round(max(timings), 3) if timings else None},
        "leftovers": leftovers, "grew": {k: v for k, v in grown.items() if v}, "failures": failures,
        "driver": cycle_driver.summary(), "driverDuringChecks": driver.summary(),
        "server": server.summary(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    args = parser.parse_args()
    result = soak(args.cycles, args.checks)
    if args.output == "json":
        print(json.dumps(result, indent=2))
    else:
        print(f"soak: {result['cycles']} up/check/down cycles, then {result['checks']} checks --all "
              f"on one server, in {result['seconds']} s (a cycle: mean {result['cycleSeconds']['mean']} s, "
              f"max {result['cycleSeconds']['max']} s)")
        for name in ("driver", "driverDuringChecks", "server"):
            print(f"  {name}: {json.dumps(result[name])}")
        print("  leftovers: " + (json.dumps(result["leftovers"]) if result["leftovers"] else "none"))
        print("  grew: " + (json.dumps(result["grew"]) if result["grew"] else "nothing"))
        print("  failures: " + ("; ".join(result["failures"]) if result["failures"] else "none"))
        print("ok" if result["ok"] else "NOT OK")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
