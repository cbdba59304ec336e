"""NetworkPolicy (networking.k8s.io/v1) as plain data, and how it decides one connection.

This is the one statement of the semantics, written after kube-network-policies'
evaluator (what KIND runs): the nft rules of `plan/netpol_rules.py` are generated in the same
order as `decide` walks the policies, so the rule the kernel matches first is the one
`decide` names, and `trace` and the tests read their verdicts from here.

- A pod is isolated in a direction when a policy of its namespace selects it and has that
  policyType; an isolated pod's connection is allowed when any rule of any of those
  policies matches it (rules are additive; order only decides which one is named).
- A peer: `podSelector` alone selects pods of the policy's namespace; `namespaceSelector`
  alone every pod of the selected namespaces; both, the pods that match both; `ipBlock`
  the address the packet carries (pod addresses included, as kube-network-policies does).
  Selectors see only the policy's own cluster.
- A named port is resolved against the destination pod's ports (both directions).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

INGRESS, EGRESS = "Ingress", "Egress"
PROTOCOLS = ("TCP", "UDP", "SCTP")
NOT_SELECTED = "not selected by any policy"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return labels.get(self.key) not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels


@dataclass(frozen=True)
class LabelSelector:
    """matchLabels and matchExpressions, ANDed; empty selects everything."""

    labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.labels) and \
            all(e.matches(labels) for e in self.expressions)


@dataclass(frozen=True)
class IPBlock:
    cidr: IPNet
    excepts: tuple[IPNet, ...] = ()

    def contains(self, address: IPAddr) -> bool:
        if address.version != self.cidr.version or address not in self.cidr:
            return False
        return not any(address in e for e in self.excepts)


@dataclass(frozen=True)
class Peer:
    pods: LabelSelector | None = None
    namespaces: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True)
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None  # None: every port of the protocol; str: a named port
    end_port: int | None = None


@dataclass(frozen=True)
class Rule:
    peers: tuple[Peer, ...] = ()  # empty: every peer
    ports: tuple[PolicyPort, ...] = ()  # empty: every port and protocol


@dataclass(frozen=True)
class NetworkPolicy:
    cluster: str
    namespace: str
    name: str
    pod_selector: LabelSelector
    types: tuple[str, ...]  # Ingress, Egress (defaulted as the API server does)
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress


@dataclass(frozen=True)
class ServedPort:
    """A port a workload pod serves (`name` for NetworkPolicy's named ports)."""

    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True)
class PodView:
    """What policies see of a pod: where it is, its labels and named ports."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: tuple[ServedPort, ...] = ()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    direction: str  # Ingress | Egress
    policy: str | None = None  # namespace/name of the deciding policy (None: not selected)
    rule: int | None = None  # index of the allowing rule in its direction
    selected_by: tuple[str, ...] = ()  # every policy isolating the pod in this direction

    @property
    def comment(self) -> str:
        """The nft comment of the rule that decided (see plan/netpol_rules.py)."""
        if self.policy is None:
            return NOT_SELECTED
        if self.rule is None:
            return f"{self.direction.lower()}: no rule allows it"
        return rule_comment(self.policy, self.direction, self.rule)

    def text(self) -> str:
        where = self.direction.lower()
        if not self.selected_by:
            return f"{where}: {NOT_SELECTED}"
        if self.allowed:
            return f"{where}: allowed by {self.policy} {where} rule {self.rule}"
        return f"{where}: dropped, selected by {', '.join(self.selected_by)} and no rule allows it"


def rule_comment(policy: str, direction: str, index: int) -> str:
    return f"{policy} {direction.lower()} rule {index}"


_COMMENT = re.compile(r"^(?P<policy>\S+/\S+) (?P<direction>ingress|egress) rule (?P<rule>\d+)$")
_ISOLATED = re.compile(r"\(isolated by (?P<policies>[^)]*)\)")


def parse_decision(comment: str, by: str) -> dict | None:
    """A policy decision as data, from what trace recorded: the rule's comment (the inverse
    of `rule_comment` and of the table's other comments) and who decided (`by`, which
    names the isolating policies of a drop). None for the table's other rules."""
    found = _COMMENT.match(comment)
    if found:
        direction, policy = found["direction"], found["policy"]
        return {"direction": direction, "policy": policy, "rule": int(found["rule"]), "allowed": True,
                "selectedBy": None, "text": f"{direction}: allowed by {comment}"}
    direction = comment.split(":", 1)[0]
    if comment.endswith("no rule allows it"):
        isolated = _ISOLATED.search(by)
        policies = isolated["policies"] if isolated else ""
        return {"direction": direction, "policy": None, "rule": None, "allowed": False,
                "selectedBy": policies.split(", ") if policies else [],
                "text": f"{direction}: dropped, selected by {policies} and no rule allows it"}
    if comment.startswith(NOT_SELECTED):
        where = comment[len(NOT_SELECTED):].strip(" ()")
        return {"direction": where or None, "policy": None, "rule": None, "allowed": True,
                "selectedBy": [], "text": f"{where}: {NOT_SELECTED}" if where else NOT_SELECTED}
    return None


def selects(policy: NetworkPolicy, pod: PodView, direction: str) -> bool:
    return direction in policy.types and pod.namespace == policy.namespace and \
        policy.pod_selector.matches(pod.labels)


def peer_selects(peer: Peer, policy_namespace: str, pod: PodView | None, address: IPAddr | None,
                 namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
    """Does the peer name this pod (of the policy's cluster, or None) at this address?"""
    if peer.ip_block is not None:
        return address is not None and peer.ip_block.contains(address)
    if pod is None:
        return False
    if peer.pods is not None and not peer.pods.matches(pod.labels):
        return False
    if peer.namespaces is None:
        return pod.namespace == policy_namespace
    return peer.namespaces.matches(namespace_labels.get(pod.namespace, {}))


def port_matches(rule_port: PolicyPort, port: int, protocol: str, destination: PodView | None) -> bool:
    if rule_port.protocol != protocol:
        return False
    if rule_port.port is None:
        return True
    if isinstance(rule_port.port, str):
        return destination is not None and any(
            p.name == rule_port.port and p.port == port and p.protocol == protocol for p in destination.ports)
    if rule_port.end_port is not None:
        return rule_port.port <= port <= rule_port.end_port
    return port == rule_port.port


def rule_matches(rule: Rule, policy: NetworkPolicy, peer: PodView | None, address: IPAddr | None,
                 port: int, protocol: str, destination: PodView | None,
                 namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
    if rule.ports and not any(port_matches(p, port, protocol, destination) for p in rule.ports):
        return False
    return not rule.peers or any(peer_selects(p, policy.namespace, peer, address, namespace_labels)
                                 for p in rule.peers)


def decide(policies: tuple[NetworkPolicy, ...], direction: str, subject: PodView, peer: PodView | None,
           peer_address: IPAddr | None, port: int, protocol: str,
           namespace_labels: Mapping[str, Mapping[str, str]]) -> Verdict:
    """The verdict of one direction for a new connection. Ingress: `subject` is the
    destination pod, `peer` the source pod (None when not a pod of this cluster) and
    `peer_address` the source address as it arrives; egress: `subject` is the source pod,
    `peer` the destination pod and `peer_address` the destination address (after DNAT)."""
    destination = subject if direction == INGRESS else peer
    selecting = tuple(p for p in policies if selects(p, subject, direction))
    names = tuple(p.key for p in selecting)
    for policy in selecting:
        for index, rule in enumerate(policy.rules(direction)):
            if rule_matches(rule, policy, peer, peer_address, port, protocol, destination, namespace_labels):
                return Verdict(True, direction, policy.key, index, names)
    if selecting:
        return Verdict(False, direction, selecting[0].key, None, names)
    return Verdict(True, direction, None, None, ())
