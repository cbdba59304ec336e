"""IP families (IPv4, IPv6, dual-stack) as KIND and Docker handle them.

- A value that may carry both families (a network's `subnet` and `gateway`, a host's
  `address`, a node `loopback` prefix) is written as KIND writes a dual-stack podSubnet:
  comma-separated, at most one per family, primary family first.
- The `kind` network gets KIND's IPv6 ULA /64, derived from the network's name, when a
  cluster needs IPv6 (KIND creates `kind` with it; an existing network is reused as is).
- Checks that need the families of several parts at once: an IPv4-only `kind` network
  under an IPv6 cluster, interconnected clusters with no family in common, hosts routing
  to a cluster over a network that lacks the cluster's family.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import endpoints
from ..topology import IPAddr, Topology
from .kindconfig import ClusterNetwork
from .naming import KIND_NETWORK
from .yamlsource import Path

if TYPE_CHECKING:  # validate.py uses this module: no import cycle at run time
    from .validate import Context

FAMILY_NAMES = {4: "IPv4", 6: "IPv6"}


def kind_ula_subnet(name: str, attempt: int = 0) -> ipaddress.IPv6Network:
    """KIND's IPv6 subnet for a Docker network it creates: fc00::/8 with bytes 2-7 of
    sha1(name + attempt as little-endian int32), a /64 (`fc00:f853:ccd:e793::/64` for `kind`)."""
    digest = hashlib.sha1(name.encode() + struct.pack("<i", attempt)).digest()
    return ipaddress.IPv6Network((bytes([0xFC, 0x00]) + digest[2:8] + bytes(8), 64))


def split_per_family(ctx: Context, text: str, path: Path, what: str,
                     parse: Callable[[Context, str, Path, str], object]) -> tuple | None:
    """`a` or `a,b`: at most one value per family, in the order written; None when invalid."""
    parts = [part.strip() for part in text.split(",")]
    values = [parse(ctx, part, path, what) for part in parts]
    if any(value is None for value in values):
        return None
    versions = [value.version for value in values]
    if len(values) > 2 or len(set(versions)) != len(versions):
        ctx.add(path, f"expected one {what} or two, one from each family, for dual-stack", text,
                "e.g. 172.16.17.0/24,fd00:17::/64 (IPv4,IPv6 as KIND's podSubnet)")
        return None
    return tuple(values)


def families_of(network: ClusterNetwork) -> tuple[int, ...]:
    """A cluster's families, primary first: (4,), (6,), (4, 6) or (6, 4)."""
    return tuple(subnet.version for subnet in network.pod_subnets)


def in_families(addresses: tuple[IPAddr, ...], families: tuple[int, ...]) -> tuple[IPAddr, ...]:
    """The addresses of the given families, in the families' order (primary first)."""
    return tuple(a for version in families for a in addresses if a.version == version)


def _clusters_needing_ipv6(ctx: Context) -> list[str]:
    return [ctx.spec.clusters[index].name for index, info in ctx.networks.items()
            if info is not None and 6 in families_of(info)]


def add_kind_ula(ctx: Context, networks: dict[str, tuple]) -> None:
    """Give `kind` its IPv6 ULA when a cluster needs IPv6 and the file left `kind`'s subnet
    to KIND; refuse a declared IPv4-only `kind` then (KIND would reuse it as it is)."""
    needing = _clusters_needing_ipv6(ctx)
    if not needing or KIND_NETWORK not in networks:
        return
    subnets, gateways = networks[KIND_NETWORK]
    if any(s.version == 6 for s in subnets):
        return
    declared = next(((i, n) for i, n in enumerate(ctx.spec.networks) if n.name == KIND_NETWORK), None)
    if declared is not None and declared[1].subnet is not None:
        ula = kind_ula_subnet(KIND_NETWORK)
        ctx.add(("networks", declared[0], "subnet"),
                f"network kind has no IPv6 subnet, but cluster {needing[0]} needs one", declared[1].subnet,
                f"KIND creates `kind` with the IPv6 subnet {ula} and reuses an existing network as it "
                f"is, so IPv6 nodes would get no address: use {declared[1].subnet},{ula}")
        return
    ula = kind_ula_subnet(KIND_NETWORK)
    networks[KIND_NETWORK] = (subnets + (ula,), gateways + (ula[1],))


def check_interconnect_families(ctx: Context) -> None:
    """Interconnected clusters must share a family: an IPv4 pod cannot reach an IPv6 pod."""
    family = {c.name: families_of(ctx.networks[i]) for i, c in enumerate(ctx.spec.clusters)
              if ctx.networks.get(i) is not None}
    every = [c.name for c in ctx.spec.clusters]
    for index, item in enumerate(ctx.spec.interconnect):
        names = [n for n in (every if item.clusters == ["*"] else item.clusters) if n in family]
        for position, name in enumerate(names):
            other = next((o for o in names[position + 1:] if not set(family[name]) & set(family[o])), None)
            if other is not None:
                ctx.add(("interconnect", index, "clusters"),
                        f"clusters {name} ({_label(family[name])}) and {other} ({_label(family[other])}) "
                        "share no IP family: their pods cannot route to each other", item.clusters,
                        "make one of them dual-stack (ipFamily: dual), or interconnect clusters of one family")
                return


def _label(families: tuple[int, ...]) -> str:
    return " and ".join(FAMILY_NAMES[v] for v in families)


def check_route_families(ctx: Context, topology: Topology) -> None:
    """A host routes to a cluster's pod (or service) subnets over a network it shares with
    the cluster's nodes: that network must carry each of the cluster's families."""
    for index, host in enumerate(topology.hosts):
        spec = ctx.spec.hosts[index]
        mine = {a.network: {x.version for x in a.addresses} for a in host.attachments}
        for key, names in (("routesTo", spec.routesTo), ("serviceRoutesTo", spec.serviceRoutesTo)):
            for position, name in enumerate(names):
                cluster = topology.cluster(name)
                node = cluster.nodes[0]
                carried = set().union(*(mine.get(a.network, set()) & {x.version for x in a.addresses}
                                        for a in node.attachments))
                wanted = [s.version for s in cluster.pod_subnets]
                if carried and not carried & set(wanted):
                    family = FAMILY_NAMES[wanted[0]]
                    ctx.add(("hosts", index, key, position),
                            f"host {host.name} shares no {family} network with cluster {name}'s nodes "
                            f"(the cluster is {_label(tuple(wanted))} only)", name,
                            f"give a network they share an {family} subnet")


def check_expect_families(ctx: Context, topology: Topology) -> None:
    """An expectation whose sources and targets share no family has nothing to probe."""
    lists = [(("expect",), topology.expectations)] + [(("expectWhen", each.name), each.expectations)
                                                      for each in topology.expectation_sets]
    names = endpoints.Names.of(topology)  # once: it walks every pod (~3 ms a selector at 10,000 namespaces)
    for at, index, item in ((at, index, item) for at, items in lists for index, item in enumerate(items)):
        try:
            sources = endpoints.resolve(topology, item.source, names)
            targets = endpoints.resolve(topology, item.target, names)
        except endpoints.EndpointError:
            continue  # reported by name already (validate.check_expect_refs)
        mine = {a.version for e in sources for a in e.addresses}
        theirs = {a.version for e in targets for a in e.addresses}
        if mine and theirs and not mine & theirs:
            ctx.add(at + (index,), f"{item.source} ({_label(tuple(sorted(mine)))}) and {item.target} "
                    f"({_label(tuple(sorted(theirs)))}) share no IP family: there is nothing to probe",
                    None, "expect between endpoints of a common family (a dual-stack cluster has both)")
