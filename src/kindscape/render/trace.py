"""The `trace` report for people: one table per direction, then the verdicts."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..trace.model import BY_ROUTE, BY_SOCKET, BY_WIRING, DELIVERED, Hop, Path, TraceReport

_PLAIN = (BY_ROUTE, BY_WIRING, BY_SOCKET)  # shown in their own columns


def _packet(hop: Hop) -> str:
    return f"{hop.packet.src or '?'} → {hop.packet.dst}:{hop.packet.dport}"


def _rules(hop: Hop) -> Text:
    text = Text()
    for step in hop.steps:
        if step.by in _PLAIN:
            continue
        if text:
            text.append("\n")
        text.append(f"[{step.by}] ", style="dim")
        text.append(step.what, style="cyan" if "->" in step.what else "")
    return text


def _route(hop: Hop) -> Text:
    if hop.route is not None:
        return Text(hop.route)
    refused = [s.what for s in hop.steps if s.by == BY_ROUTE]
    return Text(refused[-1] if refused else "-", style="red")


def _end(hop: Hop) -> Text:
    if hop.verdict is None:
        return Text(hop.next or "")
    style = "green" if hop.verdict == DELIVERED else "red"
    return Text(hop.verdict, style=f"bold {style}")


def path_table(title: str, path: Path) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("at", "in", "packet", "route (kernel)", "rules and NAT", "next"):
        table.add_column(column)
    for hop in path.hops:
        table.add_row(hop.at, hop.iif or "(socket)", _packet(hop), _route(hop), _rules(hop), _end(hop))
    return table


def _verdict(label: str, path: Path | None) -> Text:
    if path is None:
        return Text(f"{label}: not traced (no reply without a delivered request)", style="dim")
    if path.verdict == DELIVERED:
        return Text(f"{label}: delivered to {path.delivered_to}", style="green")
    return Text(f"{label}: {path.verdict}: {path.reason}", style="red")


def trace_view(report: TraceReport) -> Group:
    head = Text(f"trace {report.scenario}: {report.source} → {report.target} "
                f"({report.to_address}:{report.port})", style="bold")
    parts: list[Any] = [head, path_table("request", report.forward)]
    if report.back is not None:
        parts.append(path_table("reply", report.back))
    parts.append(_verdict("request", report.forward))
    parts.append(_verdict("reply", report.back))
    if report.seen_source is not None and report.ok:
        kept = "kept" if report.source_preserved else f"NATed (sent as {report.from_address})"
        parts.append(Text(f"{report.target} sees the connection from {report.seen_source}: source {kept}"))
    for warning in report.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    parts.append(Text("connection can be made" if report.ok else "connection cannot be made",
                      style="bold green" if report.ok else "bold red"))
    return Group(*parts)
