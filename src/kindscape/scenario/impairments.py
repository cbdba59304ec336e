"""Validation of the file's `impairments`: values (durations, percentages, rates), sides
that exist (before allocation), and sides that meet and do not overlap (after it).

Every problem is located (`impairments[0].delay`) and reported with all the others."""

from __future__ import annotations

import dataclasses

from .. import measures, sides
from ..topology import Impairment, Topology
from .validate import KIND_NETWORK, Context
from .yamlsource import Path


def catalog(ctx: Context) -> sides.Catalog:
    networks = [KIND_NETWORK] + [n.name for n in ctx.spec.networks if n.name != KIND_NETWORK]
    return sides.Catalog(tuple(c.name for c in ctx.spec.clusters), tuple(ctx.all_nodes),
                         tuple(h.name for h in ctx.spec.hosts), tuple(networks))


def check_values(ctx: Context) -> None:
    """Before allocation: values, and that each side names something."""
    names = catalog(ctx)
    for index, entry in enumerate(ctx.spec.impairments):
        path: Path = ("impairments", index)
        _parse_sides(ctx, entry.between, path, names)
        values = {f.name: getattr(entry, f.name) for f in measures.FIELDS}
        for name, message, hint in measures.parse_settings(values)[1]:
            ctx.add(path + ((name,) if name else ()), message, values.get(name), hint)


def _parse_sides(ctx: Context | None, between: list[str], path: Path,
                 names: sides.Catalog) -> tuple[sides.Side, ...] | None:
    if len(between) != 2:
        if ctx is not None:
            ctx.add(path + ("between",), "an impairment is between exactly two sides", between,
                    "e.g. between: [cluster-a, cluster-b]")
        return None
    found = []
    for position, text in enumerate(between):
        try:
            found.append(sides.parse(text, names))
        except sides.SideError as exc:
            if ctx is not None:
                ctx.add(path + ("between", position), str(exc), text, exc.hint)
    return tuple(found) if len(found) == 2 else None


def resolve(ctx: Context, topology: Topology) -> Topology:
    """After allocation: sides that meet, impairments that do not overlap; the topology
    with its impairments (unchanged when there are problems: the caller raises)."""
    names = sides.Catalog.of(topology)
    found: list[Impairment] = []
    pairs: list[tuple[int, tuple[sides.Side, sides.Side]]] = []
    for index, entry in enumerate(ctx.spec.impairments):
        path: Path = ("impairments", index, "between")
        pair = _parse_sides(None, entry.between, path, names)
        if pair is None:
            continue
        problem = sides.pair_problem(topology, *pair)
        if problem:
            ctx.add(path, problem[0], entry.between, problem[1])
            continue
        clash = next((i for i, other in pairs if sides.conflicts(topology, pair, other)), None)
        if clash is not None:
            ctx.add(path, f"overlaps impairments[{clash}]: some traffic would be impaired twice",
                    entry.between, "impair either the larger sides or the smaller ones, not both")
            continue
        pairs.append((index, pair))
        values = {f.name: getattr(entry, f.name) for f in measures.FIELDS}
        found.append(Impairment((entry.between[0], entry.between[1]), **measures.parse_settings(values)[0]))
    return dataclasses.replace(topology, impairments=tuple(found))
