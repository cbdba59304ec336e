"""Operations on Linux networking as plain, frozen data: what the shared planning
functions of plan/ return (routes, rulesets, neighbours, files, listeners), and the
netns runtime's operations (its planner, runtimes/netns/planner.py, makes them; its
renderer prints them as the equivalent `ip`/`nft` commands). `Plan` holds any runtime's.

Every namespaced operation names its namespace (`ns`). The phase tells runtimes what
can be batched: all ops of one phase are independent across namespaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Generic, TypeVar


class Phase(IntEnum):
    NAMESPACES = 1
    SYSCTLS = 2
    LINKS = 3
    ADDRESSES = 4
    ROUTES = 5
    RULESETS = 6
    FILES = 7
    IMPAIRMENTS = 8  # tc and nftables on the interfaces where impaired traffic leaves (plan/links.py)
    WORKLOADS = 9


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
class Address:
    ns: str
    dev: str
    address: str  # CIDR form, e.g. 172.18.0.2/16
    phase = Phase.ADDRESSES


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
class Route:
    ns: str
    to: str  # CIDR or "default"
    via: str = ""
    dev: str = ""
    scope: str = ""  # "" (universe) or "link"
    family: int = 4
    comment: str = ""
    phase = Phase.ROUTES


@dataclass(frozen=True)
class Neighbour:
    """A permanent neighbour (ARP/NDP) entry: `address` is at `mac` on `dev`. Permanent
    entries are never garbage-collected and do not count toward the kernel's neighbour
    table limits, which all namespaces share."""

    ns: str
    dev: str
    address: str
    mac: str
    phase = Phase.ROUTES


@dataclass(frozen=True)
class Ruleset:
    """An nftables ruleset applied atomically with `nft -f` inside `ns`."""

    ns: str
    table: str
    text: str
    comment: str = ""
    phase = Phase.RULESETS


@dataclass(frozen=True)
class WriteFile:
    """A file the scenario owns (e.g. /etc/netns/<ns>/resolv.conf for `ip netns exec`)."""

    path: str
    content: str
    phase = Phase.FILES


@dataclass(frozen=True)
class Listener:
    ns: str
    endpoint: str
    ports: tuple[int, ...]  # TCP
    udp_ports: tuple[int, ...] = ()  # a datagram gets the endpoint's line back


@dataclass(frozen=True)
class DnsRecord:
    """One resource record, in zone-file terms: `name. TTL IN type data`."""

    name: str  # fully qualified, without the trailing dot: web.default.svc.cluster.local
    type: str  # A | AAAA | CNAME | SRV | PTR
    data: str  # an address, a target name (with its dot), or "priority weight port target."


@dataclass(frozen=True)
class DnsServer:
    """A cluster's DNS (CoreDNS's place): UDP and TCP 53 in `ns`, authoritative for `zone`."""

    ns: str
    endpoint: str
    zone: str
    records: tuple[DnsRecord, ...]


@dataclass(frozen=True)
class StartWorkloads:
    """One server process for every emulated pod/host: echo listeners in their namespaces,
    and each cluster's DNS server (served by the same process)."""

    listeners: tuple[Listener, ...] = field(default_factory=tuple)
    dns: tuple[DnsServer, ...] = ()
    phase = Phase.WORKLOADS


Op = (CreateNamespace | Sysctl | Bridge | Veth | LinkUp | Address | NeighProxy | Route | Neighbour | Ruleset
      | WriteFile | StartWorkloads)


OpT = TypeVar("OpT")


@dataclass(frozen=True)
class Plan(Generic[OpT]):
    """A runtime's operations in the order `up` applies them; each runtime has its own
    operation types (the netns runtime: `Op` above, runtimes/netns/planner.NetnsPlan; the
    kind runtime: runtimes/kind/ops.py) and its own renderer."""

    scenario: str
    ops: tuple[OpT, ...]
    # The operations' positions by their exact type, made on the first `of`: appliers ask
    # for a dozen kinds, and a plan of 10,000 namespaces has hundreds of thousands of ops.
    _positions: dict = field(default_factory=dict, compare=False, repr=False)

    def of(self, kind: type) -> list:
        if not self._positions:
            for position, op in enumerate(self.ops):
                self._positions.setdefault(type(op), []).append(position)
        lists = [found for each, found in self._positions.items() if issubclass(each, kind)]
        positions = lists[0] if len(lists) == 1 else sorted(p for found in lists for p in found)
        return [self.ops[p] for p in positions]

