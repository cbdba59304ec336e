"""Tables for links: a scenario's impairments and partitions (in `status`), and what
`check --measure` found in each cell of the matrix."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from .. import measures
from ..probe.measure import MeasuredResult


def links_table(doc: dict[str, Any]) -> Table | None:
    """Impairments and partitions of a status (or impair/partition/heal) document."""
    impairments, partitions = doc.get("impairments") or [], doc.get("partitions") or []
    if not impairments and not partitions:
        return None
    table = Table(show_header=True, title="links", title_justify="left")
    table.add_column("between")
    table.add_column("state")
    for item in partitions:
        table.add_row(" - ".join(item["between"]), Text("partitioned (all traffic dropped)", style="red"))
    for item in impairments:
        table.add_row(" - ".join(item["between"]), Text(f"impaired: {measures.settings_text(item)}", style="yellow"))
    return table


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
