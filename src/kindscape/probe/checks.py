"""`check`: which pairs to probe (from `expect`, or everything), and whether the results
meet the expectations. Results are data; the CLI renders them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import endpoints
from ..topology import Endpoint, Expectation, Topology
from .measure import MeasuredResult
from .prober import ProbeResult, ProbeTask

Prober = Callable[[list[ProbeTask]], list[ProbeResult]]


@dataclass
class ExpectationOutcome:
    expectation: Expectation
    results: list[ProbeResult] = field(default_factory=list)
    failures: list[ProbeResult] = field(default_factory=list)
    explanation: str | None = None  # `check --explain`: why it failed, in one line (from trace)

    @property
    def met(self) -> bool:
        return not self.failures and bool(self.results)


@dataclass
class CheckReport:
    scenario: str
    results: list[ProbeResult]
    expectations: list[ExpectationOutcome]
    groups: dict[str, str] = field(default_factory=dict)  # endpoint -> matrix group

    @property
    def ok(self) -> bool:
        return all(outcome.met for outcome in self.expectations)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [result_json(r) for outcome in self.expectations for r in outcome.failures]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "ok": self.ok,
            "results": [result_json(r) for r in self.results],
            "expectations": [expectation_json(o) for o in self.expectations],
        }


def result_json(result: ProbeResult) -> dict[str, Any]:
    task = result.task
    data = {
        "from": task.source, "to": task.target, "toAddress": task.address, "port": task.port,
        "protocol": task.protocol,
        "family": result.family, "reachable": result.reachable, "seenSource": result.seen_source,
        "sourcePreserved": result.source_preserved, "rttMs": result.rtt_ms,
        "answeredBy": result.answered_by, "error": result.error,
    }
    if isinstance(result, MeasuredResult):  # check --measure: loss and RTT spread of a burst
        data.update(result.measure_json())
    return data


def expectation_json(outcome: ExpectationOutcome) -> dict[str, Any]:
    item = outcome.expectation
    found = {
        "from": item.source, "to": item.target, "port": item.port, "protocol": item.protocol,
        "reachable": item.reachable, "sourcePreserved": item.source_preserved, "met": outcome.met,
        "probes": len(outcome.results),
        "failures": [result_json(r) for r in outcome.failures],
    }
    if outcome.explanation is not None:
        found["explanation"] = outcome.explanation
    return found


def tasks_between(sources: list[Endpoint], targets: list[Endpoint], port: int | None = None,
                  protocol: str = "TCP") -> list[ProbeTask]:
    """One probe per source, target and address family both have (dual-stack: both); on
    `port` (default: each target's own) with `protocol`. A pod reaching itself is no probe."""
    found = []
    for source in sources:
        families = {a.version for a in source.addresses}
        for target in targets:
            if target.name == source.name:
                continue
            for address in target.addresses:
                if address.version in families:
                    found.append(ProbeTask(source.name, source.netns, target.name, str(address),
                                           target.port if port is None else port, protocol))
    return found


def check(topology: Topology, probe: Prober, everything: bool = False,
          expectations: list[Expectation] | None = None) -> CheckReport:
    """Probe what the expectations name (or, with `everything` or none, all pairs) and judge."""
    wanted = list(topology.expectations if expectations is None else expectations)
    groups: dict[str, str] = {}
    plan: dict[int, list[ProbeTask]] = {}
    all_tasks: dict[tuple, ProbeTask] = {}
    for index, item in enumerate(wanted):
        sources = endpoints.resolve(topology, item.source)
        targets = endpoints.resolve(topology, item.target)
        _remember(groups, sources + targets)
        plan[index] = tasks_between(sources, targets, item.port, item.protocol)
        for task in plan[index]:
            all_tasks.setdefault(_key(task), task)
    if everything or not wanted:
        sources, targets = endpoints.all_sources(topology), endpoints.all_targets(topology)
        _remember(groups, sources + targets)
        for task in tasks_between(sources, targets):
            all_tasks.setdefault(_key(task), task)
    ordered = list(all_tasks.values())
    by_key = {_key(r.task): r for r in probe(ordered)}
    outcomes = [_judge(item, [by_key[_key(t)] for t in plan[i]]) for i, item in enumerate(wanted)]
    return CheckReport(topology.scenario, [by_key[_key(t)] for t in ordered], outcomes, groups)


def _remember(groups: dict[str, str], found: list[Endpoint]) -> None:
    for endpoint in found:
        groups.setdefault(endpoint.name, endpoint.group)


def _key(task: ProbeTask) -> tuple:
    return (task.source, task.target, task.address, task.port, task.protocol)


def _judge(item: Expectation, results: list[ProbeResult]) -> ExpectationOutcome:
    failures = []
    for result in results:
        if result.reachable != item.reachable:
            failures.append(result)
        elif item.reachable and item.source_preserved is not None \
                and result.source_preserved != item.source_preserved:
            failures.append(result)
    return ExpectationOutcome(item, results, failures)
