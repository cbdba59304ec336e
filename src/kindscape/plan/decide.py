"""How a ruleset the tool installs decides a packet: the interface `trace` asks.

Every module that writes nft rules (kindnet's masquerade and Docker's NAT and isolation in
`rules.py`; kube-proxy's Services; partitions) also says, as a pure function, what its
rules do to one packet at one place and hook. `kindscape trace` asks the kernel for routes
and asks these explainers for the rules, but only where the kernel really holds the
explainer's table (so a ruleset removed by hand is not explained as if it were there), and
it checks that the rule an explainer names is among the installed rules.

To make your rules explain themselves: write a class with `table` (the nft table as
"<family> <name>", e.g. "inet kindnet"; "" when your rules are not nft, e.g. tc, and say
where they come from in `Decision.source`) and `decide(topology, place, hook, packet)`
returning a `Decision`, several in order, or None (the rules do not touch this packet),
then add an instance
to `kindscape.trace.rulesets.EXPLAINERS`. Use the same comments on your nft rules as in
your decisions' `rule`: that is how trace checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from ..topology import IPAddr, Topology
from .hooks import Action, Hook  # noqa: F401 - the explainers' vocabulary, here with the rest of it


@dataclass(frozen=True)
class Packet:
    """The fields rules and routes look at, for a TCP connection's packets."""

    src: IPAddr | None  # None until the origin's route lookup picks the source address
    dst: IPAddr
    dport: int
    sport: int = 40000  # an ephemeral port; replies go back to it
    proto: str = "tcp"
    mark: int = 0  # the packet's (skb) mark: set by rules, seen by later rules and route lookups

    def reply(self) -> "Packet":
        assert self.src is not None
        return Packet(self.dst, self.src, self.sport, self.dport, self.proto)

    def with_(self, **changes) -> "Packet":
        return replace(self, **changes)


@dataclass(frozen=True)
class InstalledRule:
    """One rule the kernel holds (from `nft -j list ruleset`): where it sits, its comment,
    and its expressions as nft's JSON (text), for explainers of rules made at run time."""

    table: str  # "netdev kindscape-partition"
    chain: str
    hook: str  # the base chain's hook ("" for a regular chain)
    device: str  # netdev chains: the interface
    comment: str
    expr: str


@dataclass(frozen=True)
class InstalledRuleset:
    """What the kernel of one namespace holds: its nft tables ("inet kindnet") with the
    comments of their rules, and the rules themselves."""

    tables: dict[str, frozenset[str]] = field(default_factory=dict)
    rules: tuple[InstalledRule, ...] = ()


@dataclass(frozen=True)
class Place:
    """Where a packet meets a hook: the namespace, its endpoint, the interfaces."""

    ns: str
    endpoint: str
    role: str  # pod | node | host | docker-host
    iif: str = ""  # interface it came in on ("" when made by a local socket)
    oif: str = ""  # interface it leaves by ("" before the route lookup or when delivered)
    reply: bool = False  # a reply of a tracked connection (nat chains are not consulted)
    bridged: bool = False  # crossing a bridge (br_netfilter), not routed by this namespace
    installed: InstalledRuleset = field(default_factory=InstalledRuleset, compare=False)  # in the kernel here


@dataclass(frozen=True)
class Decision:
    table: str  # "inet kindnet"; "" for rules outside nft
    rule: str  # the rule's comment, as installed
    action: Action
    to: IPAddr | None = None  # SNAT/DNAT address (masquerade: the kernel picks it)
    to_port: int | None = None  # DNAT port
    choices: tuple[tuple[IPAddr, int], ...] = field(default_factory=tuple)  # DNAT: every backend
    source: str = ""  # where the rule comes from when not an nft table of ours
    mark: int = 0  # MARK: the bits set
    detail: str = ""  # what it does, in words, where the action does not say it (NOTE)

    @property
    def by(self) -> str:
        return self.source or f"nft {self.table}"


class RulesetExplainer(Protocol):
    table: str

    def decide(self, topology: Topology, place: Place, hook: Hook,
               packet: Packet) -> Decision | tuple[Decision, ...] | None:
        """What the rules do to `packet` at `place` and `hook`, in the order they do it (None:
        they do not touch it)."""
