"""How the policy table of `plan/netpol_rules.py` decides a packet (see `decide.py`), from the
same `netpol.decide` the rules are generated from: at a node's postrouting hook, egress
for a connection from one of its pods, then ingress for one to one of its pods."""

from __future__ import annotations

from .. import netpol
from ..netpol import EGRESS, INGRESS
from ..topology import Cluster, Pod, Topology
from .decide import Action, Decision, Hook, Packet, Place
from .netpol_rules import ESTABLISHED, NO_RULE, NODE_OWN, TABLE

BY = f"nft inet {TABLE}"


def _cluster_of(topology: Topology, ns: str) -> tuple[Cluster, str] | None:
    for cluster in topology.clusters:
        for node in cluster.nodes:
            if node.netns == ns:
                return cluster, node.name
    return None


def _pod(cluster: Cluster, address) -> Pod | None:
    return next((p for p in cluster.all_pods if address in p.addresses), None)


class NetworkPolicies:
    table = f"inet {TABLE}"

    def decide(self, topology: Topology, place: Place, hook: Hook,
               packet: Packet) -> tuple[Decision, ...] | None:
        if hook is not Hook.POSTROUTING or place.role != "node" or packet.src is None:
            return None
        found = _cluster_of(topology, place.ns)
        if found is None or not found[0].policies:
            return None
        cluster, node = found
        if place.reply:
            return (Decision(self.table, ESTABLISHED, Action.ACCEPT, detail="conntrack: a reply"),)
        source, target = _pod(cluster, packet.src), _pod(cluster, packet.dst)
        if not place.iif:
            isolated = target is not None and target.node == node and any(
                netpol.selects(p, target.view, INGRESS) for p in cluster.policies)
            return (Decision(self.table, NODE_OWN, Action.ACCEPT),) if isolated else None
        decisions = []
        protocol = packet.proto.upper()
        labels = cluster.namespace_labels
        if source is not None and source.node == node:
            verdict = netpol.decide(cluster.policies, EGRESS, source.view, target.view if target else None,
                                    packet.dst, packet.dport, protocol, labels)
            decisions.append(_decision(verdict))
            if not verdict.allowed:
                return tuple(decisions)
        if target is not None and target.node == node:
            verdict = netpol.decide(cluster.policies, INGRESS, target.view, source.view if source else None,
                                    packet.src, packet.dport, protocol, labels)
            decisions.append(_decision(verdict))
        return tuple(decisions) or None


def _decision(verdict: netpol.Verdict) -> Decision:
    if not verdict.selected_by:  # no rule of the table says it: the verdict stands by itself
        rule = f"{netpol.NOT_SELECTED} ({verdict.direction.lower()})"
        return Decision("", rule, Action.ACCEPT, source=BY, detail=verdict.text())
    if verdict.allowed:
        return Decision(f"inet {TABLE}", verdict.comment, Action.ACCEPT, detail=verdict.text())
    return Decision(f"inet {TABLE}", NO_RULE[verdict.direction], Action.DROP,
                    source=f"{BY} (isolated by {', '.join(verdict.selected_by)})", detail=verdict.text())
