"""Routes between namespaces: kindnet's, the page's interconnect loop, routes to loopbacks,
and the `routesTo`/`serviceRoutesTo` routes of hosts and of docker-host."""

from __future__ import annotations

from enum import Enum

from ..topology import Cluster, IPAddr, Node, Topology
from . import linux_ops


class Origin(str, Enum):
    """Who makes a route on a real KIND machine (a runtime that has the real thing, e.g.
    kindnet on KIND nodes, leaves those routes to it)."""

    LOOPBACK = "loopback"  # a routing daemon: on-link routes to other nodes' loopbacks
    KINDNET = "kindnet"  # kindnet: the other nodes' podCIDRs
    INTERCONNECT = "interconnect"  # the page's interconnect loop
    HOST = "host"  # a host's routesTo / serviceRoutesTo
    DOCKER_HOST = "docker-host"  # the Docker host's routesTo / serviceRoutesTo


def routes(topology: Topology) -> list[linux_ops.Route]:
    return [route for _, route in routes_by_origin(topology)]


def routes_by_origin(topology: Topology) -> list[tuple[Origin, linux_ops.Route]]:
    """Every route, in the order they are made, each with who makes it."""
    # On-link routes to loopbacks first: later routes use loopbacks as next hops.
    found = [(Origin.LOOPBACK, route) for route in _loopback_routes(topology)]
    for cluster in topology.clusters:
        for node in cluster.nodes:
            found += [(Origin.KINDNET, route) for route in _kindnet_routes(cluster, node)]
    found += [(Origin.INTERCONNECT, route) for route in _interconnect_routes(topology)]
    found += [(Origin.HOST, route) for route in _host_routes(topology)]
    found += [(Origin.DOCKER_HOST, route) for route in _docker_host_routes(topology)]
    return found


def _via(ns: str, dest, gateway: IPAddr, comment: str) -> linux_ops.Route:
    return linux_ops.Route(ns, str(dest), str(gateway), family=dest.version, comment=comment)


def _match(addresses: tuple[IPAddr, ...], version: int) -> IPAddr | None:
    return next((a for a in addresses if a.version == version), None)


def _kindnet_routes(cluster: Cluster, node: Node) -> list[linux_ops.Route]:
    """kindnet: each node routes every other node's podCIDR via that node's InternalIP."""
    found = []
    for other in cluster.nodes:
        if other.name == node.name:
            continue
        for cidr in other.pod_cidrs:
            gateway = _match(other.internal_ips, cidr.version)
            if gateway is not None:
                found.append(_via(node.netns, cidr, gateway, f"kindnet: {other.name}'s podCIDR"))
    return found


def _loopback_routes(topology: Topology) -> list[linux_ops.Route]:
    """What a routing daemon would give: each node reaches the others' loopbacks on-link
    (KIND nodes answer ARP for any local address: arp_ignore=0)."""
    found = []
    for node in topology.nodes:
        for other in topology.nodes:
            if other.name == node.name or not other.loopbacks:
                continue
            shared = _shared_attachment(node, other)
            if shared is None:
                continue
            for loopback in other.loopbacks:
                found.append(linux_ops.Route(node.netns, f"{loopback}/{loopback.max_prefixlen}",
                                       dev=shared, scope="link", family=loopback.version,
                                       comment=f"on-link route to {other.name}'s loopback"))
    return found


def _shared_attachment(node: Node, other: Node) -> str | None:
    theirs = {a.network for a in other.attachments}
    return next((a.ifname for a in node.attachments if a.network in theirs), None)


def cluster_families(cluster: Cluster) -> set[int]:
    return {subnet.version for subnet in cluster.pod_subnets}


def interconnected_pairs(topology: Topology):
    """(cluster, remote cluster, interconnect) for every ordered pair an interconnect joins."""
    seen = set()
    for item in topology.interconnects:
        for name in item.clusters:
            for remote in item.clusters:
                if name != remote and (name, remote) not in seen:
                    seen.add((name, remote))
                    yield topology.cluster(name), topology.cluster(remote), item


def _interconnect_routes(topology: Topology) -> list[linux_ops.Route]:
    """The page's loop: every node routes every remote node's podCIDR via that node's
    address; with `services`, each remote serviceSubnet via one of its nodes. Only in the
    families the local cluster has: its pods have no address in the others."""
    found = []
    for cluster, remote, item in interconnected_pairs(topology):
        families = cluster_families(cluster)
        for node in cluster.nodes:
            if item.pods:
                for other in remote.nodes:
                    for cidr in (c for c in other.pod_cidrs if c.version in families):
                        gateway = _match(other.internal_ips, cidr.version)
                        if gateway is not None:
                            found.append(_via(node.netns, cidr, gateway,
                                              f"interconnect: {other.name}'s podCIDR"))
            if item.services:
                found += [r for r in _service_routes(node.netns, remote, remote.nodes[0].internal_ips,
                                                     "interconnect services") if r.family in families]
    return found


def _service_routes(ns: str, cluster: Cluster, gateways: tuple[IPAddr, ...], why: str) -> list[linux_ops.Route]:
    found = []
    for subnet in cluster.service_subnets:
        gateway = _match(gateways, subnet.version)
        if gateway is not None:
            found.append(_via(ns, subnet, gateway, f"{why}: {cluster.name}'s serviceSubnet"))
    return found


def _reachable_address(node: Node, networks: list[str]) -> tuple[IPAddr, ...]:
    """The node's address on the first of `networks` it is attached to."""
    for network in networks:
        addresses = node.address_on(network)
        if addresses:
            return addresses
    return ()


def _host_routes(topology: Topology) -> list[linux_ops.Route]:
    found = []
    for host in topology.hosts:
        networks = [a.network for a in host.attachments]
        for name in host.routes_to:
            for node in topology.cluster(name).nodes:
                gateways = _reachable_address(node, networks)
                for cidr in node.pod_cidrs:
                    gateway = _match(gateways, cidr.version)
                    if gateway is not None:
                        found.append(_via(host.netns, cidr, gateway, f"routesTo {name}: {node.name}"))
        for name in host.service_routes_to:
            cluster = topology.cluster(name)
            node = next(n for n in cluster.nodes if _reachable_address(n, networks))
            found += _service_routes(host.netns, cluster, _reachable_address(node, networks),
                                     f"serviceRoutesTo {name} via {node.name}")
    return found


def _docker_host_routes(topology: Topology) -> list[linux_ops.Route]:
    """The page: "adding one route ... via any of the nodes" - from the Docker host."""
    docker = topology.docker_host
    found = []
    for name in docker.routes_to:
        for node in topology.cluster(name).nodes:
            gateways = node.attachments[0].addresses
            for cidr in node.pod_cidrs:
                gateway = _match(gateways, cidr.version)
                if gateway is not None:
                    found.append(_via(docker.netns, cidr, gateway, f"dockerHost routesTo {name}: {node.name}"))
    for name in docker.service_routes_to:
        cluster = topology.cluster(name)
        found += _service_routes(docker.netns, cluster, cluster.nodes[0].attachments[0].addresses,
                                 f"dockerHost serviceRoutesTo {name} via {cluster.nodes[0].name}")
    return found
