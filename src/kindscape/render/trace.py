"""The `trace` report for people: each direction hop by hop, each step with where its
decision comes from, then the verdicts. A list, not a table: it reads at any width."""

from __future__ import annotations

from typing import Any


from ..trace.model import DELIVERED, Hop, Path, TraceReport
from .view import Group, Text


def _hop_lines(number: int, hop: Hop) -> list[Text]:
    head = Text(f" {number}. ", style="bold")
    head.append(hop.at, style="bold")
    head.append(f"  in {hop.iif}" if hop.iif else "  (socket)", style="dim")
    head.append(f"  {hop.packet.src or '?'} → {hop.packet.dst}:{hop.packet.dport}")
    lines = [head]
    for step in hop.steps:
        line = Text("      ")
        nat = "->" in step.what
        line.append(step.what.replace(" -> ", " → "), style="cyan" if nat else "")
        source = f"{step.by}: {step.rule}" if step.rule else step.by
        line.append(f"   [{source}]", style="dim")
        lines.append(line)
    if hop.verdict is not None:
        style = "bold green" if hop.verdict == DELIVERED else "bold red"
        lines.append(Text(f"      {hop.verdict}", style=style))
    return lines


def path_lines(title: str, path: Path) -> list[Text]:
    lines = [Text(title, style="bold underline")]
    for number, hop in enumerate(path.hops, start=1):
        lines += _hop_lines(number, hop)
    return lines


def _verdict(label: str, path: Path | None) -> Text:
    if path is None:
        return Text(f"{label}: not traced (no reply without a delivered request)", style="dim")
    if path.verdict == DELIVERED:
        return Text(f"{label}: delivered to {path.delivered_to}", style="green")
    return Text(f"{label}: {path.verdict}: {path.reason}", style="red")


def trace_view(report: TraceReport) -> Group:
    head = Text(f"trace {report.scenario}: {report.source} → {report.target} "
                f"({report.to_address}:{report.port}" + ("" if report.protocol == "TCP" else f"/{report.protocol}")
                + ")", style="bold")
    parts: list[Any] = [head, *path_lines("request", report.forward)]
    if report.back is not None:
        parts += path_lines("reply", report.back)
    parts += [_verdict("request", report.forward), _verdict("reply", report.back)]
    if report.seen_source is not None and report.ok:
        kept = "kept" if report.source_preserved else f"NATed (sent as {report.from_address})"
        parts.append(Text(f"{report.forward.delivered_to} sees the connection from {report.seen_source}: source {kept}"))
    parts += [Text("NetworkPolicy: " + (f"{p['at']}: " if p["at"] else "") + p["text"],
                   style="green" if p["allowed"] else "red") for p in report.policies]
    parts += [Text(f"warning: {warning}", style="yellow") for warning in report.warnings]
    parts.append(Text("the connection can be made" if report.ok else "the connection cannot be made",
                      style="bold green" if report.ok else "bold red"))
    return Group(*parts)
