"""What `trace` asks the kernel of each namespace; a runtime answers (see
`runtimes/netns/introspect.py`). Route decisions come from RTM_GETROUTE, never from a
re-implementation of the routing table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..topology import IPAddr
from ..plan.decide import InstalledRuleset

ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
               6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat"}
TABLE_NAMES = {253: "default", 254: "main", 255: "local"}


@dataclass(frozen=True)
class Route:
    """The kernel's route for one packet in one namespace, names resolved."""

    kind: str  # unicast | local | blackhole | unreachable | prohibit | ...
    table: str  # main, local, or the table number
    prefix: str  # the matched entry: "10.220.1.0/24", "default", or the address for local
    gateway: IPAddr | None
    oif: str  # interface name ("lo" for local)
    prefsrc: IPAddr | None  # the source address the kernel picks for a local socket

    def text(self) -> str:
        """As `ip route get fibmatch` prints it."""
        if self.kind == "local":
            words = ["local", self.prefix]
        else:
            words = [self.prefix] if self.kind == "unicast" else [self.kind, self.prefix]
        if self.gateway is not None:
            words += ["via", str(self.gateway)]
        if self.oif and self.kind != "local":
            words += ["dev", self.oif]
        if self.table not in ("main", "local"):
            words += ["table", self.table]
        return " ".join(words)


class RouteRefused(Exception):
    """The kernel refused the lookup (ENETUNREACH, EHOSTUNREACH, EINVAL for a martian or a
    reverse-path failure, ...)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Kernel(Protocol):
    def route(self, ns: str, dst: IPAddr, src: IPAddr | None = None, iif: str = "",
              oif: str = "", mark: int = 0) -> Route:
        """RTM_GETROUTE in `ns`: from a local socket (no iif) or as arriving on `iif`,
        carrying the packet's mark (for policy routing by mark)."""

    def installed(self, ns: str) -> InstalledRuleset:
        """The nft tables (and their rules' comments) the namespace holds."""

    def listening(self, ns: str, address: IPAddr, port: int, protocol: str = "TCP") -> bool:
        """Whether a TCP (UDP) socket in `ns` listens on address:port (or the wildcard)."""

    def sysctl(self, ns: str, key: str) -> str | None:
        """A sysctl of the namespace (None when it does not exist there)."""
