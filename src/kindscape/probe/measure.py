"""`check --measure`: a short burst of probes per pair instead of one, to see loss and the
spread of round-trip times (what impairments and partitions change).

A wrapper around any prober: each task is probed `count` times in one burst and the
results merge into one `MeasuredResult` per task. A probe is lost when no connection was
accepted within the timeout; the timeout is kept under 1 s, where TCP would first
retransmit a lost SYN, so a lost SYN (or SYN-ACK) is a lost probe rather than a slow one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ..progress import Progress, no_progress
from .prober import ProbeResult, ProbeTask

DEFAULT_PROBES = 20
MAX_PROBES = 200
ROUND_INTERVAL = 0.01  # seconds between rounds
MAX_ROUNDS_IN_FLIGHT = 32
MAX_SOCKETS = 512  # probes in flight over all rounds (each round may hold one per task)
# Seconds: under the kernel's first SYN retransmission (TCP_TIMEOUT_INIT, 1 s), so that a
# probe rescued by a retransmitted SYN still counts as lost.
MAX_TIMEOUT = 0.9

Prober = Callable[[list[ProbeTask]], list[ProbeResult]]


@dataclass
class MeasuredResult(ProbeResult):
    """One pair's burst: the first answered probe's details, plus loss and RTT statistics."""

    probes: int = 0
    lost: int = 0
    rtts: list[float] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # backend -> probes it answered

    @property
    def loss_pct(self) -> float:
        return round(100 * self.lost / self.probes, 2) if self.probes else 0.0

    def measure_json(self) -> dict[str, Any]:
        """The fields `check --measure` adds to each result (documented in docs/json-output.md)."""
        stats: dict[str, Any] = {"rttMinMs": None, "rttAvgMs": None, "rttMaxMs": None, "rttMdevMs": None}
        if self.rtts:
            import statistics  # here: `check` without --measure needs none of it
            stats = {"rttMinMs": min(self.rtts), "rttAvgMs": round(statistics.fmean(self.rtts), 3),
                     "rttMaxMs": max(self.rtts), "rttMdevMs": round(statistics.pstdev(self.rtts), 3)}
        return {"probes": self.probes, "lost": self.lost, "lossPct": self.loss_pct, **stats,
                "answers": dict(sorted(self.answers.items()))}


def measuring(probe: Prober, count: int = DEFAULT_PROBES, progress: Progress = no_progress) -> Prober:
    """A prober that sends `count` probes per task and merges them per task.

    The burst goes out as `count` rounds of one probe per task, a round every
    ROUND_INTERVAL, each round on a thread of its own (so a lost probe's wait overlaps
    the next rounds): a round launches few sockets, so RTTs are not inflated by the time
    it takes to launch the whole burst."""
    if not 1 <= count <= MAX_PROBES:
        raise ValueError(f"probes per pair must be 1 to {MAX_PROBES}")
    # Here, not at the top: `check` reads MeasuredResult from this module, and
    # concurrent.futures imports logging (~3 ms of every start) for --measure alone.
    from concurrent.futures import ThreadPoolExecutor

    def burst(tasks: list[ProbeTask]) -> list[ProbeResult]:
        if not tasks:
            return []
        workers = max(1, min(count, MAX_ROUNDS_IN_FLIGHT, MAX_SOCKETS // len(tasks)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="measure") as pool:
            rounds = []
            for number in range(count):
                if number:
                    time.sleep(ROUND_INTERVAL)
                rounds.append(pool.submit(probe, tasks))
            results = []
            for number, finished in enumerate(rounds, start=1):
                results.append(finished.result())
                progress("rounds", number, count)
        return [merge([each[i] for each in results]) for i in range(len(tasks))]
    return burst


def merge(results: list[ProbeResult]) -> MeasuredResult:
    """One result for a burst to one target: reachable when any probe was answered."""
    answered = [r for r in results if r.reachable]
    first = answered[0] if answered else results[0]
    base = {f.name: getattr(first, f.name) for f in fields(ProbeResult)}
    rtts = sorted(r.rtt_ms for r in answered if r.rtt_ms is not None)
    if rtts:
        import statistics
        base["rtt_ms"] = round(statistics.median(rtts), 3)
    answers = Counter(r.answered_by for r in answered if r.answered_by)
    return MeasuredResult(**base, probes=len(results), lost=len(results) - len(answered), rtts=rtts,
                          answers=dict(answers))

