"""Checks that need the resolved topology: routes that must have a next hop."""

from __future__ import annotations

from ..plan.routing import interconnected_pairs
from ..topology import Node, Topology
from .validate import Context


def check_topology_refs(ctx: Context, topology: Topology) -> None:
    _check_cluster_next_hops(ctx, topology)
    _check_interconnect_next_hops(ctx, topology)
    for index, host in enumerate(ctx.spec.hosts):
        path = ("hosts", index)
        _check_routes_to(ctx, topology, host.name, host.routesTo, path + ("routesTo",),
                         set(host.networks), every_node=True)
        _check_routes_to(ctx, topology, host.name, host.serviceRoutesTo, path + ("serviceRoutesTo",),
                         set(host.networks), every_node=False)


def _check_routes_to(ctx: Context, topology: Topology, host: str, clusters: list[str], path,
                     networks: set[str], every_node: bool) -> None:
    """A route via a node needs a network the host shares with that node."""
    for name in clusters:
        cluster = topology.cluster(name)
        nodes = cluster.nodes if every_node else cluster.nodes[:1]
        stranded = [n.name for n in nodes if not networks & {a.network for a in n.attachments}]
        if stranded and (every_node or all(not networks & {a.network for a in n.attachments}
                                           for n in cluster.nodes)):
            ctx.add(path, f"host {host} shares no network with {', '.join(stranded)}", name,
                    "attach the host to a network of those nodes (e.g. kind)")


def _reaches(node: Node, other: Node) -> bool:
    """Can `node` use `other`'s InternalIP as a next hop (on a shared network, or a
    loopback reached on-link over any shared network)?"""
    mine = {a.network for a in node.attachments}
    theirs = {a.network for a in other.attachments}
    if other.node_address == "loopback":
        return bool(mine & theirs)
    return any(a.network in mine and set(a.addresses) & set(other.internal_ips) for a in other.attachments)


def _check_cluster_next_hops(ctx: Context, topology: Topology) -> None:
    """kindnet routes each node's podCIDR via its InternalIP: every other node of the
    cluster must be able to use that address as a next hop."""
    for cluster in topology.clusters:
        for node in cluster.nodes:
            stranded = [o.name for o in cluster.nodes if o is not node and not _reaches(node, o)]
            if stranded:
                ctx.add(("nodes",), f"{node.name} cannot reach the InternalIP of {', '.join(stranded)}",
                        None, "put every node of a cluster on the network its nodeAddress names")
                return


def _check_interconnect_next_hops(ctx: Context, topology: Topology) -> None:
    for index, item in enumerate(topology.interconnects):
        if not item.pods:
            continue
        for cluster, remote, joined in interconnected_pairs(topology):
            if joined is not item:
                continue
            for node in cluster.nodes:
                stranded = [o.name for o in remote.nodes if not _reaches(node, o)]
                if stranded:
                    ctx.add(("interconnect", index, "clusters"),
                            f"{node.name} cannot reach the address of {', '.join(stranded)}",
                            None, "connect the nodes to a common network or use nodeAddress: primary")
                    return
