"""The two sides of an impairment or a partition: a cluster, a node, a host or a network.

A side is named as written (`cluster-a`, `vm1`, `kind`), or with its kind when a name is
ambiguous (`network:kind`, `cluster:kind`). On a topology, a side has the addresses its
traffic carries (what filters match) and exit interfaces (where its traffic to the other
side leaves it, where impairments are applied). Pure functions, shared by validation,
the planner and the runtime commands.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from .topology import IPNet, Node, Topology

KINDS = ("cluster", "node", "host", "network")


class SideError(ValueError):
    """A side that names nothing, or two sides that cannot be paired; with a hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Side:
    kind: str  # one of KINDS
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Catalog:
    """The names each kind of side can take (from a spec before allocation, or a topology)."""

    clusters: tuple[str, ...]
    nodes: tuple[str, ...]
    hosts: tuple[str, ...]
    networks: tuple[str, ...]

    @classmethod
    def of(cls, topology: Topology) -> "Catalog":
        return cls(tuple(c.name for c in topology.clusters), tuple(n.name for n in topology.nodes),
                   tuple(h.name for h in topology.hosts), tuple(n.name for n in topology.networks))

    def names(self, kind: str) -> tuple[str, ...]:
        return {"cluster": self.clusters, "node": self.nodes, "host": self.hosts,
                "network": self.networks}[kind]


def parse(text: str, catalog: Catalog) -> Side:
    """The side a name (or `kind:name`) stands for; SideError when none or several."""
    kind, sep, name = text.partition(":")
    if sep:
        if kind not in KINDS:
            raise SideError(f"unknown kind of side {kind!r}", f"one of {', '.join(KINDS)}")
        if name not in catalog.names(kind):
            raise SideError(f"unknown {kind} {name!r}", _known(catalog, kind))
        return Side(kind, name)
    found = [k for k in KINDS if text in catalog.names(k)]
    if not found:
        raise SideError(f"unknown side {text!r}",
                        "a cluster, node, host or network: " + ", ".join(_examples(catalog)))
    if len(found) > 1:
        raise SideError(f"{text!r} is both a {found[0]} and a {found[1]}",
                        f"write {found[0]}:{text} or {found[1]}:{text}")
    return Side(found[0], text)


def _known(catalog: Catalog, kind: str) -> str:
    names = catalog.names(kind)
    return f"{kind}s: {', '.join(names[:8])}{' …' if len(names) > 8 else ''}" if names else f"no {kind}s"


def _examples(catalog: Catalog) -> list[str]:
    return [names[0] for names in (catalog.clusters, catalog.nodes, catalog.hosts, catalog.networks) if names]


# Addresses -------------------------------------------------------------------------
def _nodes(topology: Topology, side: Side) -> list[Node]:
    if side.kind == "cluster":
        return list(topology.cluster(side.name).nodes)
    if side.kind == "node":
        return [n for n in topology.nodes if n.name == side.name]
    return []


def _attachments(topology: Topology, side: Side):
    """(namespace, attachment) of every interface of the side's endpoints on a network."""
    found = [(node.netns, a) for node in _nodes(topology, side) for a in node.attachments]
    found += [(h.netns, a) for h in topology.hosts if side.kind == "host" and h.name == side.name
              for a in h.attachments]
    return found


def addresses(topology: Topology, side: Side, exact: bool = False) -> list[IPNet]:
    """Every address or prefix a cluster, node or host side's traffic can carry (a
    network's subnets for a network side), collapsed, IPv4 first. `exact`: each address
    or prefix as the topology has it (none merged with its neighbours), only those inside
    another left out: what a runtime that learns some of them later can stand for."""
    found: list[IPNet] = []
    if side.kind == "network":
        found += topology.network(side.name).subnets
    if side.kind == "cluster":
        cluster = topology.cluster(side.name)
        found += cluster.pod_subnets + cluster.service_subnets
    for node in _nodes(topology, side):
        found += node.pod_cidrs
        found += [ipaddress.ip_network(a) for a in node.loopbacks]
    found += [ipaddress.ip_network(addr) for _, a in _attachments(topology, side) for addr in a.addresses]
    return uncovered(found) if exact else collapse(found)


@dataclass(frozen=True)
class Addresses:
    """What stands for one side in a pair: `nets`, or (`exclude`) every address but them."""

    nets: tuple[IPNet, ...]
    exclude: bool = False

    def of_family(self, version: int) -> list[IPNet]:
        return [n for n in self.nets if n.version == version]

    def expanded(self) -> list[IPNet]:
        """As plain prefixes (for overlap tests): the complement spelled out."""
        return subtract(list(EVERYTHING), list(self.nets)) if self.exclude else list(self.nets)


EVERYTHING = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def collapse(nets: Iterable[IPNet]) -> list[IPNet]:
    nets = list(nets)
    return [n for version in (4, 6)
            for n in ipaddress.collapse_addresses([x for x in nets if x.version == version])]


def uncovered(nets: Iterable[IPNet]) -> list[IPNet]:
    """The prefixes no other one contains, once each, IPv4 first, in address order."""
    unique = set(nets)
    kept = [n for n in unique if not any(o != n and o.version == n.version and o.supernet_of(n) for o in unique)]
    return sorted(kept, key=lambda n: (n.version, n.network_address, n.prefixlen))


def subtract(nets: list[IPNet], minus: list[IPNet]) -> list[IPNet]:
    """The parts of `nets` outside every prefix of `minus`."""
    left = list(nets)
    for cut in minus:
        kept: list[IPNet] = []
        for net in left:
            if net.version != cut.version or not net.overlaps(cut):
                kept.append(net)
            elif not cut.supernet_of(net):
                kept += net.address_exclude(cut)
        left = kept
    return collapse(left)


def overlapping(one: list[IPNet], other: list[IPNet]) -> bool:
    return any(a.version == b.version and a.overlaps(b) for a in one for b in other)


def crossing(topology: Topology, one: Side, other: Side, exact: bool = False) -> tuple[Addresses, Addresses]:
    """What stands for each side: traffic from the first to the second (or back) is what
    crosses between the sides. A network side is the link between its peer and that
    network: everything the peer reaches over it, so the network stands for every
    address but the peer's own (the peer's traffic among its own endpoints never counts)."""
    mine, theirs = addresses(topology, one, exact), addresses(topology, other, exact)
    return (Addresses(tuple(theirs), True) if one.kind == "network" else Addresses(tuple(mine)),
            Addresses(tuple(mine), True) if other.kind == "network" else Addresses(tuple(theirs)))


# Where traffic leaves a side --------------------------------------------------------
def networks_of(topology: Topology, side: Side) -> set[str]:
    if side.kind == "network":
        return {side.name}
    return {a.network for _, a in _attachments(topology, side)}


def exits(topology: Topology, side: Side, peer: Side) -> list[tuple[str, str]]:
    """(namespace, interface) where the side's traffic to `peer` leaves it: its endpoints'
    interfaces on the networks both share; for a network, its bridge's ports (in
    docker-host) that face the peer's endpoints."""
    shared = networks_of(topology, side) & networks_of(topology, peer)
    if side.kind == "network":
        return [(topology.docker_host.netns, a.peer) for _, a in _attachments(topology, peer)
                if a.network in shared]
    return [(ns, a.ifname) for ns, a in _attachments(topology, side) if a.network in shared]


def pair_problem(topology: Topology, one: Side, other: Side) -> tuple[str, str] | None:
    """Why two sides cannot be impaired or partitioned (message, hint), or None."""
    if one == other:
        return f"both sides are {one}", "name two different sides"
    if one.kind == "network" and other.kind == "network":
        return (f"{one} and {other} never exchange traffic (Docker isolates networks)",
                "pair a network with a cluster, node or host attached to it")
    if "network" not in (one.kind, other.kind) and overlapping(addresses(topology, one),
                                                                addresses(topology, other)):
        inner, outer = (one, other) if one.kind == "node" else (other, one)
        if inner.kind == "node" and outer.kind == "cluster":
            return f"the sides overlap: {inner} is part of {outer}", "name two disjoint sides"
        return f"the sides overlap: {one} and {other} share addresses", "name two disjoint sides"
    if not networks_of(topology, one) & networks_of(topology, other):
        return (f"{one} and {other} do not meet: they share no network",
                "attach them to a common network (their traffic cannot cross otherwise)")
    return None


def same_pair(one: tuple[Side, Side], other: tuple[Side, Side]) -> bool:
    return set(one) == set(other)


def conflicts(topology: Topology, one: tuple[Side, Side], other: tuple[Side, Side]) -> bool:
    """Would two pairs act on the same packets (e.g. a cluster pair and a pair of their
    nodes): the same traffic, leaving through the same interface? It would be impaired twice."""
    return any(set(exits1) & set(exits2) and overlapping(from1, from2) and overlapping(to1, to2)
               for exits1, from1, to1 in _directions(topology, one)
               for exits2, from2, to2 in _directions(topology, other))


def _directions(topology: Topology, pair: tuple[Side, Side]):
    """(exits, source prefixes, target prefixes) for each direction of a pair."""
    first, second = (x.expanded() for x in crossing(topology, *pair))
    return [(exits(topology, pair[0], pair[1]), first, second),
            (exits(topology, pair[1], pair[0]), second, first)]
