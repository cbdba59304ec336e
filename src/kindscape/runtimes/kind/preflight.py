"""What must hold in Docker before the kind runtime creates anything: the `kind` network
as declared, no name taken by someone else, no subnet clashing with Docker's networks or
with the machine's own routes. Every problem is reported at once."""

from __future__ import annotations

import ipaddress
import json

from ...errors import KindscapeError
from ...runner import logged, run
from ...topology import Topology
from .docker_side import DockerSide
from .dockerctx import not_here
from .ops import SCENARIO_LABEL
from .planner import KIND_NETWORK, Settings, host_container
from .records import volume_name


def check_docker_state(docker: DockerSide, topology: Topology, settings: Settings) -> None:
    with logged("docker info"):
        elsewhere = not_here(docker.endpoint, docker.client.info())
    if elsewhere:
        raise KindscapeError(f"the kind runtime cannot start: {elsewhere}")
    problems: list[str] = []
    problems += _kind_network(docker, topology, settings)
    problems += _taken_names(docker, topology)
    docker_subnets = _docker_subnets(docker)
    ours = _ours(topology)
    # The `kind` network is reused as it is: its subnets are KIND's, not a clash.
    problems += _overlaps(ours, [(n, s) for n, s in docker_subnets if n != settings.kind_network])
    # Docker's own routes (the `kind` bridge's too) are not the machine's routes.
    problems += _route_overlaps(ours, {subnet for _, subnet in docker_subnets})
    if docker.labelled_volumes(topology.scenario):
        problems.append(f"Docker still holds scenario {topology.scenario!r}'s record (volume "
                        f"{volume_name(topology.scenario)}): left by a crash? run "
                        f"`kindscape down {topology.scenario}`")
    if problems:
        raise KindscapeError("the kind runtime cannot start:\n" + "\n".join(f"  - {p}" for p in problems))


def _kind_network(docker: DockerSide, topology: Topology, settings: Settings) -> list[str]:
    kind = topology.network(KIND_NETWORK)
    existing = docker.network(settings.kind_network)
    if existing is None:
        return []
    subnets = [ipaddress.ip_network(s) for s in docker.subnets(existing)]
    if kind.declared and kind.subnets[0] not in subnets:
        return [f"docker network {settings.kind_network} exists with subnet "
                f"{', '.join(map(str, subnets)) or '(none)'}, but the scenario declares {kind.subnets[0]}: "
                f"remove that network (docker network rm {settings.kind_network}, after deleting the "
                f"clusters on it) or declare its subnet"]
    # Only a given IPv6 address is asked for on `kind` (Docker picks the IPv4 ones: planner.py).
    ipv6 = [s for s in subnets if s.version == 6]
    found = []
    for host in topology.hosts:
        first = host.attachments[0]
        for address in first.addresses if first.network == KIND_NETWORK and host.address_given else ():
            if address.version == 6 and not any(address in s for s in ipv6):
                found.append(f"host {host.name}'s address {address} is outside the existing "
                             f"{settings.kind_network} network's IPv6 subnet {', '.join(map(str, ipv6)) or '(none)'}")
    return found


def _taken_names(docker: DockerSide, topology: Topology) -> list[str]:
    found = []
    for cluster in topology.clusters:
        nodes = docker.kind_nodes(cluster.name)
        if nodes:
            found.append(f"a KIND cluster named {cluster.name} already exists (nodes {', '.join(nodes)}): "
                         f"`kind delete cluster --name {cluster.name}` or rename the cluster")
    for host in topology.hosts:
        name = host_container(topology.scenario, host.name)
        if docker.container(name) is not None:
            found.append(f"container {name} already exists{_whose(docker.by_label(SCENARIO_LABEL, topology.scenario), name, topology.scenario)}")
    for network in topology.networks:
        if network.name != KIND_NETWORK and docker.network(network.name) is not None:
            owned = docker.labelled_networks(topology.scenario)
            found.append(f"docker network {network.name} already exists{_whose(owned, network.name, topology.scenario)}")
    return found


def _whose(owned: list[str], name: str, scenario: str) -> str:
    if name in owned:
        return f" (left by scenario {scenario}: run `kindscape down {scenario}`)"
    return " (not made by kindscape: remove or rename it)"


def _ours(topology: Topology) -> list[tuple[str, object]]:
    """The subnets the scenario brings (a reused `kind` is Docker's, not ours)."""
    mine = [(f"network {n.name}", s) for n in topology.networks
            if n.name != KIND_NETWORK or n.declared for s in n.subnets]
    mine += [(f"cluster {c.name}'s podSubnet", s) for c in topology.clusters for s in c.pod_subnets]
    mine += [(f"cluster {c.name}'s serviceSubnet", s) for c in topology.clusters for s in c.service_subnets]
    return mine


def _docker_subnets(docker: DockerSide) -> list[tuple[str, object]]:
    """Every Docker network's subnets, by network name."""
    return [(network.name, ipaddress.ip_network(text)) for network in docker.client.networks.list()
            for text in docker.subnets(network)]


def _overlaps(ours: list[tuple[str, object]], docker_subnets: list[tuple[str, object]]) -> list[str]:
    found = []
    for name, theirs in docker_subnets:
        for label, subnet in ours:
            if subnet.version == theirs.version and subnet.overlaps(theirs):
                found.append(f"{label} {subnet} overlaps docker network {name} ({theirs})")
    return found


def _route_overlaps(ours: list[tuple[str, object]], docker_routes: set) -> list[str]:
    """The machine's own routes (a VPN, a LAN): pods and Services there would shadow them or
    be shadowed. Default, link-local and multicast routes, and Docker's own, are not clashes."""
    found = []
    for route in _machine_routes():
        if route.prefixlen == 0 or route in docker_routes or route.is_link_local or route.is_multicast:
            continue
        for label, subnet in ours:
            if subnet.version == route.version and subnet.overlaps(route):
                found.append(f"{label} {subnet} overlaps this machine's route to {route}")
    return found


def _machine_routes() -> list:
    routes = []
    for family in ("-4", "-6"):
        done = run(["ip", family, "-j", "route", "show", "table", "main"], check=False)
        try:
            entries = json.loads(done.stdout or "[]")
        except ValueError:
            continue
        for entry in entries:
            destination = entry.get("dst", "default")
            if destination != "default":
                try:
                    routes.append(ipaddress.ip_network(destination, strict=False))
                except ValueError:
                    continue
    return routes
