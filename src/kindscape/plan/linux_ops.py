"""The Linux operations the shared planning functions of plan/ return, as plain, frozen
data: addresses, routes, neighbours, nftables rulesets, files, DNS servers and records
(plan/link_faults.py has the link shaping ones). A runtime applies them as they are (the
netns runtime: runtimes/netns/ops.py adds its own, namespaces, links, sysctls, workloads)
or turns them into its own operations (the kind runtime: `docker exec ... ip route`).

Every namespaced operation names its namespace (`ns`). The phase is where it comes in
the order a Linux network is built: all ops of one phase are independent across
namespaces, so a runtime may batch them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Phase(IntEnum):
    NAMESPACES = 1
    SYSCTLS = 2
    LINKS = 3
    ADDRESSES = 4
    ROUTES = 5
    RULESETS = 6
    FILES = 7
    IMPAIRMENTS = 8  # tc and nftables on the interfaces where impaired traffic leaves (link_faults.py)
    WORKLOADS = 9


@dataclass(frozen=True)
class Address:
    ns: str
    dev: str
    address: str  # CIDR form, e.g. 172.18.0.2/16
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
