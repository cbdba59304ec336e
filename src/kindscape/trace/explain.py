"""One line saying why: for `check --explain`, a failed expectation's first failing probe
traced and summed up (and said so when the trace and the probe disagree)."""

from __future__ import annotations

from collections.abc import Callable

from ..probe.checks import ExpectationOutcome
from ..probe.prober import ProbeResult
from .model import DELIVERED, TraceReport

Tracer = Callable[[str, str, int, str, str], TraceReport]  # source, target, port, address, protocol


def one_line(report: TraceReport) -> str:
    """The trace in a line: where and why it stopped, or the path and its NAT."""
    policies = "; ".join(f"{p['at']}: {p['text']}" if p["at"] else p["text"] for p in report.policies)
    said = f" [NetworkPolicy: {policies}]" if policies else ""
    if report.forward.verdict != DELIVERED:
        return f"request {report.forward.verdict}: {report.forward.reason}" + said
    if report.back is not None and report.back.verdict != DELIVERED:
        return f"request delivered, reply {report.back.verdict}: {report.back.reason}" + said
    path = " → ".join(hop.at for hop in report.forward.hops)
    nat = "; ".join(f"{hop.at}: {hop.nat}" for hop in report.forward.hops if hop.nat)
    return f"delivered both ways via {path}" + (f"; NAT at {nat}" if nat else "; no NAT") + said


def explain_result(result: ProbeResult, trace: Tracer) -> str:
    task = result.task
    report = trace(task.source, task.target, task.port, task.address, task.protocol)
    shown = "" if task.protocol == "TCP" else f"/{task.protocol}"
    line = f"{task.source} -> {task.target} ({task.address}:{task.port}{shown}): {one_line(report)}"
    if report.ok != result.reachable:
        probe = "was answered" if result.reachable else f"failed ({result.error or 'no answer'})"
        line += (f" [but the probe {probe}: something trace does not see decides it, e.g. a tc "
                 "qdisc or rules no explainer describes]")
    return line


def explain(outcomes: list[ExpectationOutcome], trace: Tracer) -> None:
    """Set `explanation` on every failed expectation."""
    for outcome in outcomes:
        if outcome.met:
            continue
        if not outcome.failures:
            outcome.explanation = "no probes: the selectors name no pair of endpoints with a common address family"
            continue
        outcome.explanation = explain_result(outcome.failures[0], trace)
