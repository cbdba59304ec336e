"""The explainers `trace` consults, and the check that each is really installed.

Add yours to EXPLAINERS (see `plan/decide.py`): issue 4's kube-proxy Service rules and
issue 6's partitions plug in here."""

from __future__ import annotations

from dataclasses import dataclass

from ..plan.decide import Action, Decision, Hook, InstalledRuleset, Packet, Place, RulesetExplainer
from ..plan.kubeproxy_explain import KubeProxy
from ..plan.netpol_explain import NetworkPolicies
from ..plan.rules_explain import DockerNetworks, KindnetMasquerade
from ..topology import Topology
from .netdev import NetdevEgress

EXPLAINERS: tuple[RulesetExplainer, ...] = (
    NetworkPolicies(),  # issue 18: postrouting at srcnat - 5, before the masquerades
    KindnetMasquerade(),
    KubeProxy(),
    DockerNetworks(),
    NetdevEgress("netdev kindscape-partition"),  # issue 6: partitions
    NetdevEgress("netdev kindscape-impair"),  # issue 6: impairments (loss, tc classes)
)


@dataclass
class Consultation:
    decisions: list[Decision]
    warnings: list[str]


def consult(topology: Topology, installed: InstalledRuleset, place: Place, hook: Hook,
            packet: Packet, explainers: tuple[RulesetExplainer, ...] = EXPLAINERS) -> Consultation:
    """Ask every explainer whose table the namespace really holds, in order; stop at a drop."""
    found = Consultation([], [])
    for explainer in explainers:
        if explainer.table and explainer.table not in installed.tables:
            continue
        answer = explainer.decide(topology, place, hook, packet)
        for decision in (answer if isinstance(answer, tuple) else (answer,) if answer else ()):
            comments = installed.tables.get(decision.table)
            if decision.table and comments is not None and decision.rule not in comments:
                found.warnings.append(f"{place.endpoint}: {decision.by} has no rule {decision.rule!r} "
                                      "installed; this step may not be what the kernel does")
            found.decisions.append(decision)
            if decision.action is Action.DROP:
                return found
    return found


def unexplained_tables(installed: InstalledRuleset,
                       explainers: tuple[RulesetExplainer, ...] = EXPLAINERS) -> list[str]:
    """Tables in a namespace that no explainer speaks for (their effect is not traced)."""
    known = {e.table for e in explainers}
    return sorted(t for t in installed.tables if t not in known)
