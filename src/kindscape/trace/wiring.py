"""Where each interface of a scenario leads, from the topology the scenario was built from:
which namespace is at the other end of a ptp veth, which network a bridge port is on,
and which namespace owns each address on each network (so a next hop address becomes
the next namespace; `trace` then asks that namespace's kernel to confirm the address)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .. import endpoints
from ..plan.service_steps import announcing
from ..topology import DOCKER_HOST, Endpoint, IPAddr, Topology


@dataclass(frozen=True)
class Spot:
    """A namespace of the scenario and what it is."""

    ns: str
    endpoint: str
    role: str  # pod | node | host | docker-host


@dataclass(frozen=True)
class Landing:
    """Where a packet sent out of an interface to a next hop arrives."""

    spot: Spot
    iif: str  # the interface it comes in on there
    network: str = ""  # the network crossed ("" for a ptp veth)
    bridge: str = ""  # set when docker-host's bridge switches it between two members
    port: str = ""  # the docker-host bridge port it leaves by towards its owner


class Wiring:
    def __init__(self, topology: Topology):
        self.topology = topology
        self.spots: dict[str, Spot] = {}
        self.ptp: dict[tuple[str, str], tuple[str, str]] = {}
        self.networks: dict[tuple[str, str], str] = {}
        self.owners: dict[tuple[str, IPAddr], tuple[str, str, str]] = {}  # -> ns, ifname, bridge port
        self.by_address: dict[IPAddr, str] = {}
        self.pods: dict[str, Endpoint] = {}  # CoreDNS's too, which selectors do not name
        self._docker_host(topology)
        for node in topology.nodes:
            self._attach(Spot(node.netns, node.name, "node"), node.attachments, node.loopbacks)
            for pod in _pods_on(topology, node):
                spot = Spot(pod.netns, pod.name, "pod")
                self.spots[pod.netns] = spot
                self.pods[pod.name] = endpoints.pod_endpoint(pod, node.cluster)
                self.ptp[(pod.netns, "eth0")] = (node.netns, pod.host_ifname)
                self.ptp[(node.netns, pod.host_ifname)] = (pod.netns, "eth0")
                for address in pod.addresses:
                    self.by_address[address] = pod.name
        for host in topology.hosts:
            self._attach(Spot(host.netns, host.name, "host"), host.attachments, ())
        for cluster in topology.clusters:
            for service in cluster.services:
                self._announce(service)

    def _docker_host(self, topology: Topology) -> None:
        ns = topology.docker_host.netns
        self.spots[ns] = Spot(ns, DOCKER_HOST, "docker-host")
        for network in topology.networks:
            self.networks[(ns, network.bridge)] = network.name
            for gateway in network.gateways:
                self.owners[(network.name, gateway)] = (ns, network.bridge, "")
                self.by_address.setdefault(gateway, DOCKER_HOST)

    def _attach(self, spot: Spot, attachments, loopbacks) -> None:
        self.spots[spot.ns] = spot
        for attachment in attachments:
            self.networks[(spot.ns, attachment.ifname)] = attachment.network
            # KIND nodes answer ARP for any of their addresses on any interface (arp_ignore=0).
            for address in tuple(attachment.addresses) + tuple(loopbacks):
                self.owners[(attachment.network, address)] = (spot.ns, attachment.ifname, attachment.peer)
                self.by_address.setdefault(address, spot.endpoint)

    def _announce(self, service) -> None:
        """A LoadBalancer address is answered for (ARP/NDP) where the plan puts it."""
        holder = announcing(self.topology, service)
        if holder is None:
            return
        node, attachment = holder
        for address in service.load_balancer_ips:
            self.owners[(attachment.network, address)] = (node.netns, attachment.ifname, attachment.peer)

    def land(self, ns: str, oif: str, nexthop: IPAddr) -> Landing | str:
        """Where a packet leaving `ns` by `oif` towards `nexthop` arrives, or why nowhere."""
        here = self.spots[ns]
        if (ns, oif) in self.ptp:
            peer_ns, peer_if = self.ptp[(ns, oif)]
            return Landing(self.spots[peer_ns], peer_if)
        network = self.networks.get((ns, oif))
        if network is None:
            return f"{here.endpoint}: {oif} is not an interface kindscape connected to anything"
        owner = self.owners.get((network, nexthop))
        if owner is None:
            return f"{here.endpoint}: nothing on network {network} has {nexthop} (no answer to ARP)"
        owner_ns, owner_if, port = owner
        docker = self.topology.docker_host.netns
        bridged = ns != docker and owner_ns != docker
        bridge = self.topology.network(network).bridge if bridged else ""
        return Landing(self.spots[owner_ns], owner_if, network, bridge, port)

    def endpoint_at(self, address: IPAddr) -> str | None:
        return self.by_address.get(address)


def _pods_on(topology: Topology, node) -> list:
    """A node's pods, and its cluster's CoreDNS pod when it runs there."""
    dns = topology.cluster(node.cluster).dns_pod
    return list(node.pods) + ([dns] if dns is not None and dns.node == node.name else [])


def resolve(topology: Topology, wiring: Wiring, selector: str) -> Endpoint:
    """An endpoint by name (pod, node, host, docker-host, Service) or by address; an address
    no endpoint owns is a bare target with no namespace."""
    try:
        address = ipaddress.ip_address(selector)
    except ValueError:
        return endpoints.single(topology, selector)
    owner = wiring.endpoint_at(address)
    if owner is None:
        return Endpoint(str(address), "address", "", (address,), str(address))
    found = wiring.pods.get(owner) or endpoints.single(topology, owner)
    return Endpoint(found.name, found.kind, found.netns, (address,), found.group, found.port)
