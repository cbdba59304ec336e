"""Changing the links of a scenario that is up: `impair` (set or clear the impairment
between two sides), `partition` (cut all their traffic) and `heal` (restore it).

The state file holds the scenario's current impairments and partitions (links.py). A
change is recorded there before it is applied, with what it replaces, so an interrupted
change is completed by the next one; `down` removes it all with the namespaces.

Each change is made through the runtime and topology of the scenario's `Lab` (api.py),
which calls these functions: nothing here makes a Lab of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import measures, sides
from . import state as statefile
from .errors import KindscapeError, StateError, UsageError
from .links import Links, Pair, current, record, replacing
from .progress import Progress, no_progress, with_crash_hook
from .runtimes.base import Runtime
from .topology import Impairment, Topology


# The three changes ------------------------------------------------------------------
def impair(name: str, runtime: Runtime, topology: Topology, one: str, other: str,
           settings: dict[str, Any] | None, progress: Progress = no_progress) -> Links:
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
            raise UsageError("; ".join(_setting_problem(settings, *p) for p in problems))
        for item in kept:
            if sides.conflicts(topology, _sides(topology, item.sides), _sides(topology, pair)):
                raise KindscapeError(f"{one} - {other} overlaps the impairment between {item.sides[0]} "
                                     f"and {item.sides[1]}: some traffic would be impaired twice; "
                                     "clear that one first (`--clear`)")
        item = Impairment(pair, **parsed)
        return replace(links, impairments=kept + (item,)), [(f"impair {one} {other}", item)]
    return _change(name, runtime, topology, change, progress)


def partition(name: str, runtime: Runtime, topology: Topology, one: str, other: str,
              progress: Progress = no_progress) -> Links:
    """Cut all traffic between two sides (until `heal`)."""
    def change(topology: Topology, links: Links) -> tuple[Links, list]:
        pair = _pair(topology, one, other)
        if any(_same(topology, p, pair) for p in links.partitions):
            raise KindscapeError(f"{one} and {other} are already partitioned")
        return replace(links, partitions=links.partitions + (pair,)), [(f"partition {one} {other}", None)]
    return _change(name, runtime, topology, change, progress)


def heal(name: str, runtime: Runtime, topology: Topology, one: str, other: str,
         progress: Progress = no_progress) -> Links:
    """Restore the traffic a partition cut (impairments stay)."""
    def change(topology: Topology, links: Links) -> tuple[Links, list]:
        pair = _pair(topology, one, other)
        kept = tuple(p for p in links.partitions if not _same(topology, p, pair))
        if len(kept) == len(links.partitions):
            raise KindscapeError(f"{one} and {other} are not partitioned" + _listing(links))
        return replace(links, partitions=kept), []
    return _change(name, runtime, topology, change, progress)


# Shared machinery ------------------------------------------------------------------
Change = Callable[[Topology, Links], tuple[Links, list]]


def _change(name: str, runtime: Runtime, topology: Topology, change: Change, progress: Progress) -> Links:
    """Under the scenario's lock: compute the new links, check the kernel can do them,
    record them (with what they replace), apply, and record that they are in place."""
    progress = with_crash_hook(progress)
    with statefile.locked(name):
        state = statefile.load(name)
        if state is None or state.phase != "up":
            raise StateError(f"no scenario named {name!r} is up")
        old = current(state, topology)
        interrupted = replacing(state)
        if interrupted is not None:  # an earlier change may be half-applied: finish it first
            runtime.set_links(state, _ops(runtime, topology, old),
                              _ops(runtime, topology, old) + _ops(runtime, topology, interrupted), progress)
            _record(state, old, None)
        new, needs = change(topology, old)
        runtime.check_links(needs)
        _record(state, new, old)
        runtime.set_links(state, _ops(runtime, topology, new), _ops(runtime, topology, old), progress)
        _record(state, new, None)
    return new


def _setting_problem(settings: dict[str, Any], name: str, message: str, hint: str) -> str:
    if not name:
        return f"{message}; {hint}"
    return f"--{name}: {message} (got {settings.get(name)!r}); {hint}"


def _ops(runtime: Runtime, topology: Topology, links: Links) -> list:
    return runtime.plan_links(topology, links.impairments, links.partitions)


def _record(state, links: Links, replaced: Links | None) -> None:
    record(state, links, replaced)
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
