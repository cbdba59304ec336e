"""Namespaces (with their labels) and NetworkPolicies on real KIND clusters: `kubectl
apply`, the namespaces before the pods, the policies after them (KIND enforces them with
kube-network-policies). A policy is applied as the v1 object the file gave, rebuilt from
the checked model (same fields, defaults made explicit)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from ... import netpol
from ...topology import Topology
from .ops import MANAGED_BY, Phase

BUILT_IN = ("default", "kube-system")
NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class ApplyNamespaces:
    """A cluster's declared namespaces and labels (Kubernetes adds the name label itself)."""

    cluster: str
    namespaces: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    phase = Phase.PODS

    def manifest(self) -> str:
        docs = [{"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": name, "labels": {**({} if name in BUILT_IN else
                                                          {"app.kubernetes.io/managed-by": MANAGED_BY}),
                                                       **{k: v for k, v in labels if k != NAME_LABEL}}}}
                for name, labels in self.namespaces]
        return _documents(docs)

    def shell(self) -> str:
        return f"kubectl --context kind-{self.cluster} apply -f - <<EOF\n{self.manifest()}EOF"


@dataclass(frozen=True)
class ApplyPolicies:
    """A cluster's NetworkPolicies, once its pods are there."""

    cluster: str
    policies: tuple[netpol.NetworkPolicy, ...]
    phase = Phase.SERVICES

    def manifest(self) -> str:
        return _documents([policy_manifest(p) for p in self.policies])

    def shell(self) -> str:
        return f"kubectl --context kind-{self.cluster} apply -f - <<EOF\n{self.manifest()}EOF"


def _documents(docs: list[dict]) -> str:
    return "".join("---\n" + yaml.safe_dump(doc, sort_keys=False) for doc in docs)


def plan_namespaces(topology: Topology) -> list[ApplyNamespaces]:
    """Namespaces the file declares or its workloads use, beyond what every cluster has
    (default and kube-system are applied only when the file gives them labels)."""
    found = []
    for cluster in topology.clusters:
        spaces = tuple((ns.name, ns.labels) for ns in cluster.namespaces
                       if ns.name not in BUILT_IN or any(k != NAME_LABEL for k, _ in ns.labels))
        if spaces:
            found.append(ApplyNamespaces(cluster.name, spaces))
    return found


def plan_policies(topology: Topology) -> list[ApplyPolicies]:
    return [ApplyPolicies(c.name, c.policies) for c in topology.clusters if c.policies]


def policy_manifest(policy: netpol.NetworkPolicy) -> dict:
    spec: dict = {"podSelector": _selector(policy.pod_selector), "policyTypes": list(policy.types)}
    if netpol.INGRESS in policy.types:
        spec["ingress"] = [_rule(r, "from") for r in policy.ingress]
    if netpol.EGRESS in policy.types:
        spec["egress"] = [_rule(r, "to") for r in policy.egress]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": policy.name, "namespace": policy.namespace,
                         "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
            "spec": spec}


def _selector(selector: netpol.LabelSelector) -> dict:
    found: dict = {}
    if selector.labels:
        found["matchLabels"] = dict(selector.labels)
    if selector.expressions:
        found["matchExpressions"] = [{"key": e.key, "operator": e.operator, **({"values": list(e.values)}
                                                                               if e.values else {})}
                                     for e in selector.expressions]
    return found


def _rule(rule: netpol.Rule, key: str) -> dict:
    found: dict = {}
    if rule.peers:
        found[key] = [_peer(p) for p in rule.peers]
    if rule.ports:
        found["ports"] = [{"protocol": p.protocol, **({"port": p.port} if p.port is not None else {}),
                           **({"endPort": p.end_port} if p.end_port is not None else {})} for p in rule.ports]
    return found


def _peer(peer: netpol.Peer) -> dict:
    if peer.ip_block is not None:
        block: dict = {"cidr": str(peer.ip_block.cidr)}
        if peer.ip_block.excepts:
            block["except"] = [str(e) for e in peer.ip_block.excepts]
        return {"ipBlock": block}
    found: dict = {}
    if peer.pods is not None:
        found["podSelector"] = _selector(peer.pods)
    if peer.namespaces is not None:
        found["namespaceSelector"] = _selector(peer.namespaces)
    return found
