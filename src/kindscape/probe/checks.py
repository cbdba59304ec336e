"""`check`: which pairs to probe (from `expect`, or everything), and whether the results
meet the expectations. Results are data; the CLI renders them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import endpoints
from ..topology import Endpoint, Expectation, Topology
from . import sampling
from .measure import MeasuredResult
from .prober import ProbeResult, ProbeTask

Prober = Callable[[list[ProbeTask]], list[ProbeResult]]


@dataclass
class ExpectationOutcome:
    expectation: Expectation
    results: list[ProbeResult] = field(default_factory=list)
    failures: list[ProbeResult] = field(default_factory=list)
    explanation: str | None = None  # `check --explain`: why it failed, in one line (from trace)
    unanswered: list[str] = field(default_factory=list)  # answeredBy backends no probe reached (--measure)

    @property
    def met(self) -> bool:
        return not self.failures and not self.unanswered and bool(self.results)


@dataclass
class CheckReport:
    scenario: str
    results: list[ProbeResult]
    expectations: list[ExpectationOutcome]
    groups: dict[str, str] = field(default_factory=dict)  # endpoint -> matrix group
    sampled: bool = False  # one probe per class of equivalent pairs (see sampling.py)

    @property
    def pairs(self) -> int:
        """Pairs the results cover (each result stands for `represents` pairs)."""
        return sum(r.represents for r in self.results)

    @property
    def probes(self) -> int:
        """Probes sent: one per result, or the whole burst of a measured one."""
        return sum(r.probes if isinstance(r, MeasuredResult) else 1 for r in self.results)

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
            "pairs": self.pairs,
            "probes": self.probes,
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
        "answeredBy": result.answered_by, "error": result.error, "represents": result.represents,
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
    if item.seen_source is not None:
        found["seenSource"] = item.seen_source[0]
    if item.answered_by is not None:
        found["answeredBy"] = list(item.answered_by)
        found["unanswered"] = outcome.unanswered
    if outcome.explanation is not None:
        found["explanation"] = outcome.explanation
    return found


def tasks_between(sources: list[Endpoint], targets: list[Endpoint], port: int | None = None,
                  protocol: str = "TCP") -> list[ProbeTask]:
    """One probe per source, target and address family both have (dual-stack: both); on
    `port` (default: each target's own) with `protocol`. A pod reaching itself is no probe."""
    found = []
    where = [(target.name, [(a.version, str(a)) for a in target.addresses],
              target.port if port is None else port) for target in targets]
    for source in sources:
        families = {a.version for a in source.addresses}
        for target, addresses, target_port in where:
            if target == source.name:
                continue
            for version, address in addresses:
                if version in families:
                    found.append(ProbeTask(source.name, source.netns, target, address, target_port, protocol))
    return found


def check(topology: Topology, probe: Prober, everything: bool = False,
          expectations: list[Expectation] | None = None) -> CheckReport:
    """Probe what the expectations name and judge. With `everything`, probe every pair
    too; with no expectations, each class of equivalent pairs once (sampling.py)."""
    wanted = list(topology.expectations if expectations is None else expectations)
    groups: dict[str, str] = {}
    plan: dict[int, list[ProbeTask]] = {}
    all_tasks: dict[tuple, ProbeTask] = {}
    resolved: dict[str, list[Endpoint]] = {}
    names = endpoints.Names.of(topology) if wanted else None

    def resolve(selector: str) -> list[Endpoint]:  # each selector once, however many expectations name it
        if selector not in resolved:
            resolved[selector] = endpoints.resolve(topology, selector, names)
        return resolved[selector]
    for index, item in enumerate(wanted):
        sources, targets = resolve(item.source), resolve(item.target)
        _remember(groups, sources + targets)
        plan[index] = tasks_between(sources, targets, item.port, item.protocol)
        for task in plan[index]:
            all_tasks.setdefault(_key(task), task)
    represents: dict[tuple, int] = {}
    if everything or not wanted:
        sources, targets = endpoints.all_sources(topology), endpoints.all_targets(topology)
        _remember(groups, sources + targets)
        if everything:
            for task in tasks_between(sources, targets):
                all_tasks.setdefault(_key(task), task)
        else:  # no expectations: nothing probed yet, every pair is in one class
            for task, count in sampling.classes(topology, sources, targets):
                all_tasks[_key(task)] = task
                represents[_key(task)] = count
    ordered = list(all_tasks.values())
    by_key = {_key(r.task): r for r in probe(ordered)}
    for key, count in represents.items():
        by_key[key].represents = count
    outcomes = [_judge(item, [by_key[_key(t)] for t in plan[i]], _seen_addresses(topology, item))
                for i, item in enumerate(wanted)]
    return CheckReport(topology.scenario, [by_key[_key(t)] for t in ordered], outcomes, groups,
                       sampled=not everything and not wanted)


def _remember(groups: dict[str, str], found: list[Endpoint]) -> None:
    for endpoint in found:
        groups.setdefault(endpoint.name, endpoint.group)


def _key(task: ProbeTask) -> tuple:
    return (task.source, task.target, task.address, task.port, task.protocol)


def _judge(item: Expectation, results: list[ProbeResult], seen: set[str] | None) -> ExpectationOutcome:
    failures = [result for result in results if not _meets(item, result, seen)]
    unanswered: list[str] = []
    if item.answered_by is not None and any(isinstance(r, MeasuredResult) for r in results):
        answering = {who for r in results if isinstance(r, MeasuredResult) for who in r.answers}
        unanswered = [backend for backend in item.answered_by if backend not in answering]
    return ExpectationOutcome(item, results, failures, unanswered=unanswered)


def _meets(item: Expectation, result: ProbeResult, seen: set[str] | None) -> bool:
    """One result against an expectation: reachability, then (when reached) the source the
    receiver saw and the backend(s) that answered."""
    if result.reachable != item.reachable:
        return False
    if not item.reachable:
        return True
    if item.source_preserved is not None and result.source_preserved != item.source_preserved:
        return False
    if seen is not None and result.seen_source not in seen:
        return False
    if item.answered_by is not None:
        who = set(result.answers) if isinstance(result, MeasuredResult) else {result.answered_by}
        return who <= set(item.answered_by)
    return True


def _seen_addresses(topology: Topology, item: Expectation) -> set[str] | None:
    """The addresses `seenSource` allows: the address given, or every address of the
    endpoint named."""
    if item.seen_source is None:
        return None
    allowed: set[str] = set()
    for each in item.seen_source:
        try:
            allowed.add(str(ipaddress.ip_address(each)))
        except ValueError:
            allowed |= {str(a) for e in endpoints.resolve(topology, each) for a in e.addresses}
            node = topology.node(each)
            if node is not None:  # a node's every address: masquerade uses the exit network's
                allowed |= {str(a) for at in node.attachments for a in at.addresses}
                allowed |= {str(a) for a in node.loopbacks}
    return allowed
