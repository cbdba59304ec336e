"""The netns runtime's operations: its own (namespaces, links, sysctls, proxy NDP, the
workload server) and the Linux operations plan/ returns (plan/linux_ops.py,
plan/link_faults.py), all applied as they are. Its planner (planner.py) makes them; its
renderer (render.py) prints them as the equivalent `ip`/`nft` commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...plan.layout import Plan
from ...plan.linux_ops import Address, DnsRecord, DnsServer, Neighbour, Phase, Route, Ruleset, WriteFile

__all__ = ["Address", "Bridge", "CreateNamespace", "DnsRecord", "DnsServer", "LinkUp", "Listener", "NeighProxy",
           "Neighbour", "Op", "Phase", "Plan", "Route", "Ruleset", "StartWorkloads", "Sysctl", "Veth", "WriteFile"]


@dataclass(frozen=True)
class CreateNamespace:
    ns: str
    endpoint: str
    role: str  # docker-host | node | pod | host
    mark: str = ""  # ownership mark, set as an altname of the namespace's lo
    phase = Phase.NAMESPACES


@dataclass(frozen=True)
class Sysctl:
    ns: str
    key: str  # e.g. net.ipv4.ip_forward
    value: str
    phase = Phase.SYSCTLS


@dataclass(frozen=True)
class Bridge:
    ns: str
    name: str
    alias: str = ""  # the network's name, as the bridge's altname
    mac: str = ""  # set at creation, so neighbours can be static (see neighbours.py)
    phase = Phase.LINKS


@dataclass(frozen=True)
class Veth:
    """A veth pair made in `ns` with its peer made directly in `peer_ns` (never moved:
    moving costs the kernel 15-20 ms, creating in place ~1 ms). Both ends come up."""

    ns: str
    name: str
    peer_ns: str
    peer_name: str
    peer_master: str = ""  # bridge in peer_ns to enslave the peer to
    mac: str = ""  # link-layer addresses set at creation ("" lets the kernel choose)
    peer_mac: str = ""
    phase = Phase.LINKS


@dataclass(frozen=True)
class LinkUp:
    ns: str
    name: str
    phase = Phase.LINKS


@dataclass(frozen=True)
class NeighProxy:
    """IPv6 proxy NDP: `ns` answers neighbour solicitations for `address` on `dev`, at once
    (the device's proxy_delay set to 0). How a node's IPv6 loopback is reached on-link from
    its neighbours; IPv4 needs nothing (arp_ignore=0 answers ARP for any local address)."""

    ns: str
    dev: str
    address: str
    phase = Phase.ADDRESSES


@dataclass(frozen=True)
class Listener:
    ns: str
    endpoint: str
    ports: tuple[int, ...]  # TCP
    udp_ports: tuple[int, ...] = ()  # a datagram gets the endpoint's line back


@dataclass(frozen=True)
class StartWorkloads:
    """One server process for every emulated pod/host: echo listeners in their namespaces,
    and each cluster's DNS server (served by the same process)."""

    listeners: tuple[Listener, ...] = field(default_factory=tuple)
    dns: tuple[DnsServer, ...] = ()
    phase = Phase.WORKLOADS


Op = (CreateNamespace | Sysctl | Bridge | Veth | LinkUp | Address | NeighProxy | Route | Neighbour | Ruleset
      | WriteFile | StartWorkloads)


Op = (CreateNamespace | Sysctl | Bridge | Veth | LinkUp | Address | NeighProxy | Route | Neighbour | Ruleset
      | WriteFile | StartWorkloads)
