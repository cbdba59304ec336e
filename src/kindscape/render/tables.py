"""Human-readable tables for check reports (status's are in status_tables.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from ..endpoints import service_selector
from ..probe.measure import MeasuredResult
from .view import Group, Table, Text

if TYPE_CHECKING:
    from ..probe.checks import CheckReport


def measured_text(results: list) -> Text | None:
    """Loss over all probes of a matrix cell and the mean RTT of those answered, when the
    results come from `check --measure`."""
    measured = [r for r in results if isinstance(r, MeasuredResult)]
    if not measured:
        return None
    probes = sum(r.probes for r in measured)
    lost = sum(r.lost for r in measured)
    rtts = [t for r in measured for t in r.rtts]
    loss = 100 * lost / probes if probes else 0.0
    text = Text(f" loss {loss:.0f}%", style="green" if lost == 0 else ("red" if lost == probes else "yellow"))
    if rtts:
        text.append(f" rtt {sum(rtts) / len(rtts):.2f}ms", style="dim")
    return text


def probe_count(results: list) -> int:
    """Probes sent: one per result, or the whole burst of a measured one."""
    return sum(r.probes if isinstance(r, MeasuredResult) else 1 for r in results)


def _cell(results) -> Text:
    """Pairs reached/covered (a sampled check's result stands for `represents` pairs)."""
    total = sum(r.represents for r in results)
    reached = sum(r.represents for r in results if r.reachable)
    natted = sum(r.represents for r in results if r.reachable and r.source_preserved is False)
    style = "green" if reached == total else ("red" if not reached else "yellow")
    text = Text(f"{reached}/{total}", style=style)
    if natted:
        text.append(f" nat {natted}", style="cyan")
    measured = measured_text(results)
    if measured is not None:
        text.append_text(measured)
    return text


def check_matrix(report: CheckReport) -> Table:
    """Reachability between groups (cluster pods, cluster nodes, hosts): reached/probed,
    and how many of the reached were NATed on the way."""
    order: list[str] = []
    cells: dict[tuple[str, str], list] = {}
    # Several ports or protocols probed: each target group once per port and protocol.
    several = len({(r.task.port, r.task.protocol) for r in report.results}) > 1
    for result in report.results:
        source = report.groups.get(result.task.source, result.task.source)
        target = report.groups.get(result.task.target, result.task.target)
        if several:
            target += f" {result.task.port}/{result.task.protocol}"
        for group in (source, target):
            if group not in order:
                order.append(group)
        cells.setdefault((source, target), []).append(result)
    sources = [g for g in order if any((g, t) in cells for t in order)]
    targets = [g for g in order if any((s, g) in cells for s in order)]
    unit = "reached/pairs, sampled" if report.sampled else "reached/probed"
    table = Table(title=f"reachability in {report.scenario} ({unit})")
    table.add_column("from \\ to", style="bold")
    for target in targets:
        table.add_column(target, justify="center")
    for source in sources:
        table.add_row(source, *[_cell(cells[(source, t)]) if (source, t) in cells else Text("·")
                                for t in targets])
    if any(r.reachable and r.source_preserved is False for r in report.results):
        table.caption = "nat N: N of the reached saw another source address than the sender's (masqueraded)"
    return table


def expectations_table(report: CheckReport) -> Table:
    table = Table(title="expectations")
    for column in ("from", "to", "expected", "probes", "result"):
        table.add_column(column)
    for outcome in report.expectations:
        item = outcome.expectation
        wanted = "reachable" if item.reachable else "unreachable"
        if item.reachable and item.source_preserved is not None:
            wanted += ", source kept" if item.source_preserved else ", source NATed"
        verdict = Text("met", style="green") if outcome.met else \
            Text(f"FAILED ({len(outcome.failures)})" if outcome.results else "FAILED (no probes)", style="red")
        target = item.target
        if item.port is not None or item.protocol != "TCP":
            target += f" {item.port or ''}/{item.protocol}".replace(" /", " default port/")
        table.add_row(item.source, target, wanted, str(len(outcome.results)), verdict)
    return table


def failure_lines(report: CheckReport, limit: int = 20) -> list[str]:
    lines = []
    failures = [(o, r) for o in report.expectations for r in o.failures]
    for outcome, result in failures[:limit]:
        task = result.task
        if result.reachable:
            got = f"reached, seen as {result.seen_source} (sender {result.local_address})"
        else:
            got = f"unreachable: {result.error or 'no answer'}"
        where = f"[{task.address}]" if ":" in task.address else task.address
        port = f"{task.port}" + ("" if task.protocol == "TCP" else f"/{task.protocol}")
        lines.append(f"{task.source} -> {task.target} ({where}:{port}, IPv{result.family}): {got}; "
                     f"explain: kindscape trace {report.scenario} {task.source} {task.target}")
    if len(failures) > limit:
        lines.append(f"… and {len(failures) - limit} more (see -o json)")
    return lines


def _answers(result) -> dict[str, int]:
    """Who answered a result's probes, how many times (a --measure burst: every probe's)."""
    if isinstance(result, MeasuredResult):
        unnamed = result.probes - result.lost - sum(result.answers.values())
        others = {"unreachable" if not result.reachable else "lost": result.lost, "no line back": unnamed}
        return {**result.answers, **{who: times for who, times in others.items() if times}}
    return {result.answered_by or ("unreachable" if not result.reachable else "no line back"): 1}


def service_answers(report: CheckReport) -> Table | None:
    """For every Service probed: which backends answered, how often (kube-proxy's spread)."""
    answered: dict[str, dict[str, int]] = {}
    for result in report.results:
        if service_selector(result.task.target) is None:
            continue
        counts = answered.setdefault(result.task.target, {})
        for who, times in _answers(result).items():
            counts[who] = counts.get(who, 0) + times
    if not answered:
        return None
    table = Table(title="services: who answered")
    table.add_column("service")
    table.add_column("answered by")
    for target, counts in answered.items():
        table.add_row(target, ", ".join(f"{who} ×{n}" for who, n in sorted(counts.items())))
    return table


def check_view(report: CheckReport) -> Group:
    parts: list[Any] = [check_matrix(report)]
    answers = service_answers(report)
    if answers is not None:
        parts.append(answers)
    if report.expectations:
        parts.append(expectations_table(report))
    lines = failure_lines(report)
    if lines:
        parts.append(Text("\n".join(lines), style="red"))
    why = [f"why: {o.explanation}" for o in report.expectations if o.explanation]
    if why:
        parts.append(Text("\n".join(why), style="yellow"))
    verdict = "all expectations met" if report.ok else "some expectations failed"
    counts = {v: sum(1 for r in report.results if r.family == v) for v in (4, 6)}
    split = f" (IPv4 {counts[4]}, IPv6 {counts[6]})" if all(counts.values()) else ""
    sampled = (f" for {report.pairs} pairs (sampled: one probe per class of equivalent pairs; "
               "--all probes every pair)") if report.sampled else ""
    parts.append(Text(f"{probe_count(report.results)} probes{split}{sampled}; {verdict}",
                      style="bold green" if report.ok else "bold red"))
    return Group(*parts)
