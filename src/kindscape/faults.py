"""Changing the links of a scenario that is up: `impair` (set or clear the impairment
between two sides), `partition` (cut all their traffic) and `heal` (restore it).

The state file holds the scenario's current impairments and partitions (the file's
impairments until the first change). A change is recorded there before it is applied,
with what it replaces, so an interrupted change is completed by the next one; `down`
removes it all with the namespaces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import codec, measures, sides
from . import state as statefile
from .errors import KindscapeError, StateError
from .plan.link_faults import LinkOp, plan_links
from .progress import Progress, no_progress
from .state import ScenarioState
from .topology import Impairment, Topology

STATE_KEY = "links"

Pair = tuple[str, str]


@dataclass(frozen=True)
class Links:
    """A scenario's impairments and partitions, as they are (or are being) applied."""

    impairments: tuple[Impairment, ...] = ()
    partitions: tuple[Pair, ...] = field(default_factory=tuple)

    def ops(self, topology: Topology) -> list[LinkOp]:
        return plan_links(topology, self.impairments, self.partitions)

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


def _replacing(state: ScenarioState) -> Links | None:
    recorded = (state.extra.get(STATE_KEY) or {}).get("replacing")
    return codec.decode(Links, recorded) if recorded else None


# The three changes ------------------------------------------------------------------
def impair(name: str, one: str, other: str, settings: dict[str, Any] | None,
           progress: Progress = no_progress) -> Links:
    """Set the impairment between two sides to exactly `settings` (a dict of the file's
    keys: delay, jitter, loss, duplicate, corrupt, reorder, rate); None clears it."""
    def change(topology: Topology, links: Links) -> tuple[Links, list]:
        pair = _pair(topology, one, other)
        kept = tuple(i for i in links.impairments if not _same(topology, i.sides, pair))
        if settings is None:
            if len(kept) == len(links.impairments):
                raise KindscapeError(f"{one} and {other} are not impaired" + _listing(links))
            return replace(links, impairments=kept), []
        parsed, problems = measures.parse_settings(settings)
        if problems:
            raise KindscapeError("; ".join(_setting_problem(settings, *p) for p in problems))
        for item in kept:
            if sides.conflicts(topology, _sides(topology, item.sides), _sides(topology, pair)):
                raise KindscapeError(f"{one} - {other} overlaps the impairment between {item.sides[0]} "
                                     f"and {item.sides[1]}: some traffic would be impaired twice; "
                                     "clear that one first (`--clear`)")
        item = Impairment(pair, **parsed)
        return replace(links, impairments=kept + (item,)), [(f"impair {one} {other}", item)]
    return _change(name, change, progress)


def partition(name: str, one: str, other: str, progress: Progress = no_progress) -> Links:
    """Cut all traffic between two sides (until `heal`)."""
    def change(topology: Topology, links: Links) -> tuple[Links, list]:
        pair = _pair(topology, one, other)
        if any(_same(topology, p, pair) for p in links.partitions):
            raise KindscapeError(f"{one} and {other} are already partitioned")
        return replace(links, partitions=links.partitions + (pair,)), [(f"partition {one} {other}", None)]
    return _change(name, change, progress)


def heal(name: str, one: str, other: str, progress: Progress = no_progress) -> Links:
    """Restore the traffic a partition cut (impairments stay)."""
    def change(topology: Topology, links: Links) -> tuple[Links, list]:
        pair = _pair(topology, one, other)
        kept = tuple(p for p in links.partitions if not _same(topology, p, pair))
        if len(kept) == len(links.partitions):
            raise KindscapeError(f"{one} and {other} are not partitioned" + _listing(links))
        return replace(links, partitions=kept), []
    return _change(name, change, progress)


# Shared machinery ------------------------------------------------------------------
Change = Callable[[Topology, Links], tuple[Links, list]]


def _change(name: str, change: Change, progress: Progress) -> Links:
    """Under the scenario's lock: compute the new links, check the kernel can do them,
    record them (with what they replace), apply, and record that they are in place."""
    from .api import Lab, _with_crash_hook
    progress = _with_crash_hook(progress)
    with statefile.locked(name):
        state = statefile.load(name)
        if state is None or state.phase != "up":
            raise StateError(f"no scenario named {name!r} is up")
        lab = Lab(state)
        old = current(state, lab.topology)
        interrupted = _replacing(state)
        if interrupted is not None:  # an earlier change may be half-applied: finish it first
            lab.runtime.set_links(state, old.ops(lab.topology),
                                  old.ops(lab.topology) + interrupted.ops(lab.topology), progress)
            _record(state, old, None)
        new, needs = change(lab.topology, old)
        lab.runtime.check_links(needs)
        _record(state, new, old)
        lab.runtime.set_links(state, new.ops(lab.topology), old.ops(lab.topology), progress)
        _record(state, new, None)
    return new


def problems(state: ScenarioState) -> list[str]:
    """What `status` should say about the links (an interrupted change)."""
    if _replacing(state) is None:
        return []
    return ["a change of impairments or partitions was interrupted and may be half-applied: "
            "the next impair, partition or heal completes it"]


def _setting_problem(settings: dict[str, Any], name: str, message: str, hint: str) -> str:
    if not name:
        return f"{message}; {hint}"
    return f"--{name}: {message} (got {settings.get(name)!r}); {hint}"


def _record(state: ScenarioState, links: Links, replacing: Links | None) -> None:
    state.extra[STATE_KEY] = {**codec.encode(links),
                              "replacing": codec.encode(replacing) if replacing else None}
    statefile.save(state)


def _pair(topology: Topology, one: str, other: str) -> Pair:
    found = _sides(topology, (one, other))
    problem = sides.pair_problem(topology, *found)
    if problem:
        raise KindscapeError(f"{problem[0]}; {problem[1]}")
    return (one, other)


def _sides(topology: Topology, pair: Pair) -> tuple[sides.Side, sides.Side]:
    catalog = sides.Catalog.of(topology)
    found = []
    for text in pair:
        try:
            found.append(sides.parse(text, catalog))
        except sides.SideError as exc:
            raise KindscapeError(f"{exc}{'; ' + exc.hint if exc.hint else ''}") from None
    return found[0], found[1]


def _same(topology: Topology, one: Pair, other: Pair) -> bool:
    return sides.same_pair(_sides(topology, one), _sides(topology, other))


def _listing(links: Links) -> str:
    impaired = [" - ".join(i.sides) for i in links.impairments]
    cut = [" - ".join(p) for p in links.partitions]
    return (f" (impaired: {', '.join(impaired) or 'none'}; partitioned: {', '.join(cut) or 'none'})")
