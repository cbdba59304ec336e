"""Checks that need the resolved topology: routes that must have a next hop, endpoints
that must exist. Also refuses, clearly, the parts of the contract not built yet."""

from __future__ import annotations

from .. import endpoints
from ..topology import Topology
from .validate import Context, check_cluster_refs


def check_unsupported(ctx: Context) -> None:
    """Sections this version cannot realise yet: refused, never silently ignored."""
    spec = ctx.spec
    if spec.services:
        ctx.add(("services",), "Services are not supported by this version of kindscape", None,
                "remove `services` for now")
    if spec.impairments:
        ctx.add(("impairments",), "impairments are not supported by this version of kindscape", None,
                "remove `impairments` for now")


def check_topology_refs(ctx: Context, topology: Topology) -> None:
    for index, host in enumerate(ctx.spec.hosts):
        path = ("hosts", index)
        _check_routes_to(ctx, topology, host.name, check_cluster_refs(ctx, host.routesTo, path + ("routesTo",)),
                         path + ("routesTo",), set(host.networks), every_node=True)
        _check_routes_to(ctx, topology, host.name,
                         check_cluster_refs(ctx, host.serviceRoutesTo, path + ("serviceRoutesTo",)),
                         path + ("serviceRoutesTo",), set(host.networks), every_node=False)
    docker = ctx.spec.dockerHost
    check_cluster_refs(ctx, docker.routesTo, ("dockerHost", "routesTo"))
    check_cluster_refs(ctx, docker.serviceRoutesTo, ("dockerHost", "serviceRoutesTo"))
    _check_expectations(ctx, topology)


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


def _check_expectations(ctx: Context, topology: Topology) -> None:
    for index, item in enumerate(ctx.spec.expect):
        for key, selector in (("from", item.from_), ("to", item.to)):
            try:
                found = endpoints.resolve(topology, selector)
            except endpoints.EndpointError as exc:
                ctx.add(("expect", index, key), str(exc), selector, exc.hint)
                continue
            if key == "from" and any(e.kind == "service" for e in found):
                ctx.add(("expect", index, key), "a Service can only be a target", selector)
