"""Rulesets described once, as data: a table of chains of rules, each rule a list of
matches, a verdict and a comment. From one description come both the nft text a runtime
installs (`Table.text`) and what those rules do to a packet for `trace` (`Table.decide`),
so the two cannot drift apart.

Only what kindscape's rulesets use is here; a planner that needs another match adds a
class with `text` (its nft syntax) and `holds` (whether a packet at a place meets it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..topology import IPAddr, IPNet
from .hooks import Action, Hook

if TYPE_CHECKING:
    from .decide import Decision, Packet, Place


def _keyword(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _within(address: IPAddr | None, nets: tuple[IPNet, ...]) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in nets)


@dataclass(frozen=True)
class DestinationIn:
    """`ip daddr { a, b }` (one family: the nets' own)."""

    nets: tuple[IPNet, ...]

    @property
    def text(self) -> str:
        return f"{_keyword(self.nets[0].version)} daddr {{ {', '.join(map(str, self.nets))} }}"

    def holds(self, place: Place, packet: Packet) -> bool:
        return _within(packet.dst, self.nets)


@dataclass(frozen=True)
class SourceIn:
    """`ip saddr 172.18.0.0/16`."""

    net: IPNet

    @property
    def text(self) -> str:
        return f"{_keyword(self.net.version)} saddr {self.net}"

    def holds(self, place: Place, packet: Packet) -> bool:
        return _within(packet.src, (self.net,))


@dataclass(frozen=True)
class Interface:
    """`iifname "x"`, `oifname "x"`, `oifname != "x"`."""

    direction: str  # iif | oif
    name: str
    negated: bool = False

    @property
    def text(self) -> str:
        return f'{self.direction}name {"!= " if self.negated else ""}"{self.name}"'

    def holds(self, place: Place, packet: Packet) -> bool:
        return (getattr(place, self.direction) == self.name) != self.negated


@dataclass(frozen=True)
class Family:
    """`meta nfproto ipv4`: the packet's address family."""

    version: int

    @property
    def text(self) -> str:
        return f"meta nfproto ipv{self.version}"

    def holds(self, place: Place, packet: Packet) -> bool:
        return packet.dst.version == self.version


@dataclass(frozen=True)
class EtherDestination:
    """`ether daddr 02:..`: the frame is addressed to this MAC."""

    mac: str

    @property
    def text(self) -> str:
        return f"ether daddr {self.mac}"

    def holds(self, place: Place, packet: Packet) -> bool:
        return True  # trace follows routed packets, which are sent to the bridge's own address


@dataclass(frozen=True)
class NoRoute:
    """`fib daddr type != local fib daddr oif missing`: nothing routes the destination."""

    @property
    def text(self) -> str:
        return "fib daddr type != local fib daddr oif missing"

    def holds(self, place: Place, packet: Packet) -> bool:
        # Route decisions are the kernel's (trace asks RTM_GETROUTE, which says "no route"
        # itself before any rule is asked): a packet trace walks on has a route.
        return False


Match = DestinationIn | SourceIn | Interface | Family | EtherDestination | NoRoute
# A verdict's effect as trace reports it: `return` leaves a base chain, so the packet
# passes unchanged; a reject drops it with an answer.
VERDICTS = {"return": Action.ACCEPT, "masquerade": Action.MASQUERADE, "drop": Action.DROP,
            "reject with icmpx type no-route": Action.DROP}


@dataclass(frozen=True)
class Rule:
    matches: tuple[Match, ...]
    verdict: str  # a key of VERDICTS
    comment: str

    @property
    def text(self) -> str:
        return " ".join([m.text for m in self.matches] + [self.verdict, f'comment "{self.comment}"'])

    def holds(self, place: Place, packet: Packet) -> bool:
        return all(match.holds(place, packet) for match in self.matches)


@dataclass(frozen=True)
class Chain:
    """A base chain: its hook, type and priority, the rules in order, policy accept."""

    name: str
    type: str  # nat | filter
    hook: Hook
    priority: str  # srcnat, filter, ...
    rules: tuple[Rule, ...]

    def text(self) -> list[str]:
        return [f"  chain {self.name} {{",
                f"    type {self.type} hook {self.hook.value} priority {self.priority}; policy accept;",
                *(f"    {rule.text}" for rule in self.rules), "  }"]


@dataclass(frozen=True)
class Table:
    family: str  # inet
    name: str
    chains: tuple[Chain, ...]

    @property
    def qualified(self) -> str:
        """"inet kindnet": how trace and the kernel's listing name it."""
        return f"{self.family} {self.name}"

    def text(self) -> str:
        lines = [f"table {self.family} {self.name} {{"]
        for chain in self.chains:
            lines += chain.text()
        return "\n".join(lines + ["}"]) + "\n"

    def decide(self, place: Place, hook: Hook, packet: Packet) -> Decision | None:
        """The first rule of the hook's chain the packet meets (nat chains see a new
        connection's packets only, not replies); None: the policy accepts it unchanged."""
        for chain in self.chains:
            if chain.hook is not hook or (chain.type == "nat" and place.reply):
                continue
            for rule in chain.rules:
                if rule.holds(place, packet):
                    from .decide import Decision  # trace's types, loaded only when it asks
                    return Decision(self.qualified, rule.comment, VERDICTS[rule.verdict])
        return None
