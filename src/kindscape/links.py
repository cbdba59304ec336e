"""A scenario's links as they are: its impairments and partitions, recorded in its state
file (the file's impairments until `impair`, `partition` or `heal` change them, see
faults.py). Read by `status`, `graph` and the changes themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import codec, measures
from .state import ScenarioState
from .topology import Impairment, Topology

STATE_KEY = "links"

Pair = tuple[str, str]


@dataclass(frozen=True)
class Links:
    """A scenario's impairments and partitions, as they are (or are being) applied."""

    impairments: tuple[Impairment, ...] = ()
    partitions: tuple[Pair, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"impairments": [impairment_json(i) for i in self.impairments],
                "partitions": [{"between": list(p)} for p in self.partitions]}


def impairment_json(item: Impairment) -> dict[str, Any]:
    data: dict[str, Any] = {"between": list(item.sides)}
    for spec in measures.FIELDS:
        value = getattr(item, spec.name)
        data[spec.name] = spec.show(value) if value else None
    return data


def current(state: ScenarioState, topology: Topology) -> Links:
    """The links as recorded: the file's impairments until a command changed them."""
    recorded = state.extra.get(STATE_KEY)
    if recorded is None:
        return Links(topology.impairments)
    return codec.decode(Links, {k: recorded[k] for k in ("impairments", "partitions")})


def replacing(state: ScenarioState) -> Links | None:
    """What an interrupted change was replacing (None: no change was interrupted)."""
    recorded = (state.extra.get(STATE_KEY) or {}).get("replacing")
    return codec.decode(Links, recorded) if recorded else None


def problems(state: ScenarioState) -> list[str]:
    """What `status` should say about the links (an interrupted change)."""
    if replacing(state) is None:
        return []
    return ["a change of impairments or partitions was interrupted and may be half-applied: "
            "the next impair, partition or heal completes it"]


def record(state: ScenarioState, links: Links, replaced: Links | None) -> None:
    """Put the links (and what they replace, while a change is under way) in the state."""
    state.extra[STATE_KEY] = {**codec.encode(links),
                              "replacing": codec.encode(replaced) if replaced else None}
