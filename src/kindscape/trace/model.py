"""What `trace` finds: hops, the decisions at each, verdicts; data the CLI renders.

The JSON (`to_json`) is the contract's shape (`from`, `to`, `toAddress`, `verdict`,
`returnVerdict`, `hops[]` with `at`, `route`, `nat`, `next`, `returnHops`, `reason`)
plus the fields documented in docs/json-output.md; keep it stable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..plan.decide import Packet

DELIVERED = "delivered"
DROPPED = "dropped"
LOOP = "loop"

# Where a step's decision comes from (the `by` of a step).
BY_ROUTE = "kernel: route lookup"
BY_RP_FILTER = "kernel: rp_filter"
BY_SOCKET = "kernel: sockets"
BY_WIRING = "topology, confirmed by the kernel"
BY_CONNTRACK = "conntrack"


@dataclass(frozen=True)
class Step:
    by: str  # BY_* or "nft <family> <table>" for the tool's own rulesets
    what: str
    rule: str | None = None  # the rule that decided it (its comment), for ruleset steps

    def to_json(self) -> dict[str, str | None]:
        return {"by": self.by, "what": self.what, "rule": self.rule}


@dataclass
class Hop:
    at: str  # endpoint name
    ns: str
    iif: str  # "" at the origin
    packet: Packet  # as it arrived (at the origin: as the socket sends it)
    route: str | None = None
    oif: str | None = None
    gateway: str | None = None
    nat: str | None = None
    next: str | None = None
    steps: list[Step] = field(default_factory=list)
    verdict: str | None = None  # set on the hop where the path ends

    def note(self, by: str, what: str, rule: str | None = None) -> None:
        self.steps.append(Step(by, what, rule))

    def add_nat(self, text: str) -> None:
        self.nat = text if self.nat is None else f"{self.nat}; {text}"

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "route": self.route, "nat": self.nat, "next": self.next,
                "in": self.iif or None, "out": self.oif, "gateway": self.gateway,
                "src": _text(self.packet.src), "dst": str(self.packet.dst),
                "verdict": self.verdict, "steps": [s.to_json() for s in self.steps]}


def _text(value) -> str | None:
    return None if value is None else str(value)


@dataclass
class Path:
    hops: list[Hop]
    verdict: str
    reason: str | None = None
    final: Packet | None = None  # the packet as delivered
    delivered_to: str | None = None


@dataclass
class TraceReport:
    scenario: str
    source: str
    target: str
    to_address: str
    port: int
    forward: Path
    back: Path | None = None
    from_address: str | None = None
    warnings: list[str] = field(default_factory=list)
    protocol: str = "TCP"
    policies: list[dict[str, Any]] = field(default_factory=list)  # NetworkPolicy verdicts, in path order

    @property
    def ok(self) -> bool:
        return self.forward.verdict == DELIVERED and self.back is not None and self.back.verdict == DELIVERED

    @property
    def seen_source(self) -> str | None:
        final = self.forward.final
        return str(final.src) if self.forward.verdict == DELIVERED and final else None

    @property
    def source_preserved(self) -> bool | None:
        if not self.ok or self.seen_source is None:
            return None
        return self.seen_source == self.from_address

    @property
    def reason(self) -> str | None:
        if self.forward.verdict != DELIVERED:
            return self.forward.reason
        if self.back is not None and self.back.verdict != DELIVERED:
            return f"reply: {self.back.reason}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "from": self.source, "to": self.target,
            "fromAddress": self.from_address, "toAddress": self.to_address, "port": self.port,
            "protocol": self.protocol, "policies": self.policies,
            "family": 6 if ":" in self.to_address else 4,
            "verdict": self.forward.verdict,
            "returnVerdict": self.back.verdict if self.back else None,
            "ok": self.ok, "reason": self.reason,
            "deliveredTo": self.forward.delivered_to,
            "seenSource": self.seen_source, "sourcePreserved": self.source_preserved,
            "hops": [h.to_json() for h in self.forward.hops],
            "returnHops": [h.to_json() for h in self.back.hops] if self.back else [],
            "warnings": list(self.warnings),
        }


POLICY_TABLE = "nft inet kube-network-policies"


def policy_verdicts(report: TraceReport, topology) -> list[dict[str, Any]]:
    """What NetworkPolicy decided on the way (the request's path: replies pass as
    established): each direction judged, where, by which policy and rule. A scenario
    with policies whose path no policy selects says so in one entry."""
    from ..netpol import parse_decision
    found = []
    for hop in report.forward.hops:
        for step in hop.steps:
            if step.by.startswith(POLICY_TABLE) and step.rule is not None:
                verdict = parse_decision(step.rule, step.by)
                if verdict is not None:
                    found.append({"at": hop.at, **verdict})
    if not found and any(cluster.policies for cluster in topology.clusters):
        found.append({"at": None, "direction": None, "policy": None, "rule": None, "allowed": True,
                      "selectedBy": [], "text": "not selected by any policy"})
    return found
