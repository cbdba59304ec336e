"""The table of a scenario's links: its impairments and partitions (in `status`, and what
impair, partition and heal print)."""

from __future__ import annotations

from typing import Any


from .. import measures
from .view import Table, Text


def links_table(doc: dict[str, Any]) -> Table | None:
    """Impairments and partitions of a status (or impair/partition/heal) document."""
    impairments, partitions = doc.get("impairments") or [], doc.get("partitions") or []
    if not impairments and not partitions:
        return None
    table = Table(title="links")
    table.add_column("between")
    table.add_column("state")
    for item in partitions:
        table.add_row(" - ".join(item["between"]), Text("partitioned (all traffic dropped)", style="red"))
    for item in impairments:
        table.add_row(" - ".join(item["between"]), Text(f"impaired: {measures.settings_text(item)}", style="yellow"))
    return table
