"""Link-layer addresses fixed at link creation, and the permanent neighbour entries they
allow: every endpoint knows, without ARP/NDP, the MACs of those it sends to on its
segments (a Docker network's bridge, a pod's ptp link): on a network, the gateway (which
knows everyone), the hosts (which everyone knows), and each next hop of its routes.

Why: the kernel's neighbour tables are shared by all namespaces, with one limit
(gc_thresh3, 1,024 entries by default, set in the root namespace). A thousand
namespaces that talk to each other overflow it ("neighbor table overflow"): lookups
fail and connections stall. Permanent entries are exempt from that limit and from
garbage collection, so the scenario scales without touching the machine's sysctls.
Traffic to anything not listed (e.g. a node's loopback answered by ARP, or a node
sending straight to a node of a cluster it has no routes to) still resolves dynamically.
Not every member with every other: that grows with the square of the nodes (a million
entries for 1,000 nodes on one network, most of `up`'s time at 10,000 namespaces).

The MACs follow the conventions users will recognise: Docker's 02:42 followed by the
IPv4 address on its networks, the CNI's 0a:58 followed by the pod IP; the other ends
of those links use 0e:42 / 0e:58. For an IPv6-only address, its last four bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..topology import Attachment, IPAddr, Network, Pod, Topology
from . import linux_ops


def _mac(prefix: str, address: IPAddr) -> str:
    return prefix + ":" + ":".join(f"{byte:02x}" for byte in address.packed[-4:])


def attachment_mac(attachment: Attachment) -> str:
    """An endpoint's interface on a network (Docker derives it from the IPv4 address)."""
    return _mac("02:42", attachment.addresses[0])


def port_mac(attachment: Attachment) -> str:
    """The bridge port (docker-host's end) of that interface."""
    return _mac("0e:42", attachment.addresses[0])


def bridge_mac(network: Network) -> str:
    return _mac("02:42", network.gateways[0])


def pod_mac(pod: Pod) -> str:
    """A pod's eth0 (the CNI's 0a:58 prefix)."""
    return _mac("0a:58", pod.addresses[0])


def pod_peer_mac(pod: Pod) -> str:
    """The node's end of the pod's ptp link (where the pod's gateway address lives)."""
    return _mac("0e:58", pod.addresses[0])


@dataclass(frozen=True)
class _Member:
    """One interface on a network segment."""

    ns: str
    dev: str
    addresses: tuple[IPAddr, ...]
    mac: str
    everyone: bool = False  # the gateway and hosts: it knows every member, every member knows it


def _members(topology: Topology, network: Network) -> list[_Member]:
    found = [_Member(topology.docker_host.netns, network.bridge, network.gateways, bridge_mac(network), True)]
    holders = [(node.netns, node.attachments, False) for node in topology.nodes]
    holders += [(host.netns, host.attachments, True) for host in topology.hosts]
    for ns, attachments, everyone in holders:
        for attachment in attachments:
            if attachment.network == network.name:
                found.append(_Member(ns, attachment.ifname, attachment.addresses,
                                     attachment_mac(attachment), everyone))
    return found


def _segment(members: list[_Member], next_hops: dict[str, set[str]]) -> list[linux_ops.Neighbour]:
    """Each member learns the addresses (of the families it has) of the members it sends
    to: all of them for the gateway and hosts, else those and its routes' next hops."""
    by_address = {str(address): index for index, other in enumerate(members) for address in other.addresses}
    everyone = [index for index, other in enumerate(members) if other.everyone]
    found = []
    for member in members:
        families = {a.version for a in member.addresses}
        if member.everyone:
            others = members
        else:
            hops = {by_address[hop] for hop in next_hops.get(member.ns, ()) if hop in by_address}
            others = [members[index] for index in sorted(hops.union(everyone))]
        for other in others:
            if other is member:
                continue
            found += [linux_ops.Neighbour(member.ns, member.dev, str(address), other.mac)
                      for address in other.addresses if address.version in families]
    return found


def _ptp(topology: Topology) -> list[linux_ops.Neighbour]:
    """CNI ptp: the pod knows its gateway's MAC, the node knows the pod's."""
    found = []
    for cluster in topology.clusters:
        nodes = {node.name: node for node in cluster.nodes}  # (topology.node scans them all)
        for pod in cluster.all_pods:  # the emulated pods and the cluster's CoreDNS
            node = nodes[pod.node]
            found += [linux_ops.Neighbour(pod.netns, "eth0", str(gateway), pod_peer_mac(pod))
                      for gateway in pod.gateways]
            found += [linux_ops.Neighbour(node.netns, pod.host_ifname, str(address), pod_mac(pod))
                      for address in pod.addresses]
    return found


def neighbours(topology: Topology, routes: list[linux_ops.Route]) -> list[linux_ops.Neighbour]:
    """The permanent neighbours of every segment; `routes` are the plan's (their next hops)."""
    next_hops: dict[str, set[str]] = {}
    for route in routes:
        if route.via:
            next_hops.setdefault(route.ns, set()).add(route.via)
    found = []
    for network in topology.networks:
        found += _segment(_members(topology, network), next_hops)
    return found + _ptp(topology)
