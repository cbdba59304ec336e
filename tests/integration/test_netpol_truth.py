"""NetworkPolicy truth tables on real namespaces: for each class of case in Kubernetes'
NetworkPolicy e2e suite, namespaces x, y, z with pods a, b, c come up with the case's
policies, every ordered pair of pods is probed on the case's ports and protocols, and
the answers must be the hand-written truth table (tests/netpol_model.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

import kindscape
from kindscape import endpoints
from kindscape.probe.prober import ProbeTask
from kindscape.linux import nsfs
from kindscape.scenario import loads
from tests.machine import snapshot
from tests.netpol_model import EVERY, Truth, endpoint, matrix, pod_is, policy, scenario

INGRESS, EGRESS = ["Ingress"], ["Egress"]
ANY = {}  # an empty selector: every pod (namespace)


def only(**labels) -> dict:
    return {"matchLabels": labels}


def where(key: str, operator: str, *values: str) -> dict:
    return {"matchExpressions": [{"key": key, "operator": operator, **({"values": list(values)} if values else {})}]}


def on_a(namespace: str, rules: list[dict], direction: str = "ingress", name: str = "on-a") -> dict:
    """A policy selecting pod a of `namespace` with these rules."""
    return policy(name, namespace, {"podSelector": only(pod="a"), direction: rules,
                                    "policyTypes": ["Ingress" if direction == "ingress" else "Egress"]})


@dataclass
class Case:
    name: str
    policies: object  # (addresses: {pod: address}, cidrs: {pod: its node's podCIDR}) -> [policy]
    probes: list[tuple[int, str, Truth]] = field(default_factory=list)


def _cases() -> list[Case]:
    allow_b_c = [{"from": [{"podSelector": where("pod", "In", "b", "c")}]}]
    return [
        Case("default-deny-ingress", lambda a, c: [policy("deny", "x", {"podSelector": ANY, "policyTypes": INGRESS})],
             [(80, "TCP", Truth(True).ingress("x", False)), (80, "UDP", Truth(True).ingress("x", False))]),
        Case("default-deny-egress", lambda a, c: [policy("deny", "x", {"podSelector": ANY, "policyTypes": EGRESS})],
             [(80, "TCP", Truth(True).egress("x", False))]),
        Case("default-deny-all", lambda a, c: [policy("deny", "x", {"podSelector": ANY,
                                                                     "policyTypes": INGRESS + EGRESS})],
             [(81, "TCP", Truth(True).ingress("x", False).egress("x", False))]),
        Case("pod-selector-match-labels", lambda a, c: [on_a("x", [{"from": [{"podSelector": only(pod="b")}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False).expect(pod_is("x/b"), pod_is("x/a"), True))]),
        Case("namespace-selector-match-labels",
             lambda a, c: [on_a("x", [{"from": [{"namespaceSelector": only(ns="y")}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False).expect(pod_is("y"), pod_is("x/a"), True))]),
        Case("namespace-selector-not-in",
             lambda a, c: [on_a("x", [{"from": [{"namespaceSelector": where("ns", "NotIn", "y")}]}])],
             [(80, "TCP", Truth(True).expect(pod_is("y"), pod_is("x/a"), False))]),
        Case("pod-selector-in", lambda a, c: [on_a("x", allow_b_c)],
             [(80, "TCP", Truth(True).ingress("x/a", False).expect(pod_is("x/b", "x/c"), pod_is("x/a"), True))]),
        Case("exists-and-not-in", lambda a, c: [on_a("x", [{"from": [{
            "namespaceSelector": where("ns", "Exists"), "podSelector": where("pod", "NotIn", "a")}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False).expect(
                 pod_is("x/b", "x/c", "y/b", "y/c", "z/b", "z/c"), pod_is("x/a"), True))]),
        Case("does-not-exist-selects-nothing",
             lambda a, c: [on_a("x", [{"from": [{"podSelector": where("pod", "DoesNotExist")}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False))]),
        Case("and-within-a-peer", lambda a, c: [on_a("x", [{"from": [{
            "namespaceSelector": only(ns="y"), "podSelector": only(pod="b")}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False).expect(pod_is("y/b"), pod_is("x/a"), True))]),
        Case("or-across-peers", lambda a, c: [on_a("x", [{"from": [
            {"namespaceSelector": only(ns="y")}, {"podSelector": only(pod="b")}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False).expect(pod_is("y", "x/b"), pod_is("x/a"), True))]),
        Case("port-number", lambda a, c: [on_a("x", [{"ports": [{"port": 81}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False)), (81, "TCP", Truth(True))]),
        Case("named-port-per-destination-pod",
             lambda a, c: [policy("http", "x", {"podSelector": ANY, "ingress": [{"ports": [{"port": "http"}]}]})],
             [(80, "TCP", Truth(True).ingress("x/b", False)),
              (81, "TCP", Truth(True).ingress("x/a", False).ingress("x/c", False))]),
        Case("named-port-egress", lambda a, c: [on_a("y", [{"ports": [{"port": "http"}]}], "egress")],
             [(80, "TCP", Truth(True).expect(pod_is("y/a"), pod_is("x/b"), False)),
              (81, "TCP", Truth(True).egress("y/a", False).expect(pod_is("y/a"), pod_is("x/b"), True))]),
        Case("end-port", lambda a, c: [on_a("x", [{"ports": [{"port": 79, "endPort": 80}]}])],
             [(80, "TCP", Truth(True)), (81, "TCP", Truth(True).ingress("x/a", False))]),
        Case("protocol-only", lambda a, c: [on_a("x", [{"ports": [{"protocol": "UDP"}]}])],
             [(80, "TCP", Truth(True).ingress("x/a", False)), (80, "UDP", Truth(True))]),
        Case("stacked-policies", lambda a, c: [
            on_a("x", [{"from": [{"namespaceSelector": only(ns="y")}]}], name="from-y"),
            on_a("x", [{"from": [{"namespaceSelector": only(ns="z")}]}], name="from-z")],
             [(80, "TCP", Truth(True).expect(pod_is("x"), pod_is("x/a"), False))]),
        Case("allow-all-wins", lambda a, c: [
            policy("deny", "x", {"podSelector": ANY, "policyTypes": INGRESS}),
            policy("allow-all", "x", {"podSelector": ANY, "ingress": [{}]})],
             [(80, "TCP", Truth(True))]),
        Case("egress-denies-what-ingress-allows", lambda a, c: [
            on_a("x", [{"to": [{"namespaceSelector": only(ns="z")}]}], "egress"),
            policy("b-from-x-a", "y", {"podSelector": only(pod="b"), "ingress": [{"from": [
                {"namespaceSelector": only(ns="x"), "podSelector": only(pod="a")}]}]})],
             [(80, "TCP", Truth(True).egress("x/a", False).expect(pod_is("x/a"), pod_is("z"), True)
               .ingress("y/b", False))]),
        Case("ip-block-with-except", lambda a, c: [
            on_a("x", [{"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"{a['y/b']}/32"]}}]}], "egress"),
            policy("c-from-block", "x", {"podSelector": only(pod="c"), "ingress": [{"from": [
                {"ipBlock": {"cidr": c["y/a"], "except": [f"{a['y/a']}/32"]}}]}]})],
             [(80, "TCP", Truth(True).expect(pod_is("x/a"), pod_is("y/b"), False).ingress("x/c", False)
               .expect(pod_is("x/a", "z/a"), pod_is("x/c"), True))]),
        Case("udp", lambda a, c: [
            policy("deny", "x", {"podSelector": ANY, "policyTypes": INGRESS}),
            policy("udp-81-from-y", "x", {"podSelector": ANY, "ingress": [{
                "from": [{"namespaceSelector": only(ns="y")}], "ports": [{"protocol": "UDP", "port": 81}]}]})],
             [(81, "UDP", Truth(True).ingress("x", False).expect(pod_is("y"), pod_is("x"), True)),
              (81, "TCP", Truth(True).ingress("x", False))]),
    ]


CASES = _cases()


@pytest.fixture(scope="module")
def addresses():
    """Each pod's address and its node's podCIDR (the same whatever the policies)."""
    topology = loads(scenario([])).topology
    pods = {p.name: p for p in topology.pods}
    nodes = {n.name: n for n in topology.nodes}
    found = {pod: str(pods[endpoint(pod)].addresses[0]) for pod in EVERY}
    cidrs = {pod: str(nodes[pods[endpoint(pod)].node].pod_cidrs[0]) for pod in EVERY}
    nsfs.prepare_netns_dir()  # /run/netns, which the first `up` of a machine mounts, and keeps
    before = snapshot()
    yield found, cidrs
    assert snapshot().diff(before) == {}, "the truth-table scenarios left something behind"


def probe_all(lab, port: int, protocol: str) -> dict[tuple[str, str], bool]:
    spots = {pod: next(e for e in endpoints.resolve(lab.topology, endpoint(pod))) for pod in EVERY}
    pairs = [(s, d) for s in EVERY for d in EVERY if s != d]
    tasks = [ProbeTask(endpoint(s), spots[s].netns, endpoint(d), str(spots[d].addresses[0]), port, protocol)
             for s, d in pairs]
    results = lab.runtime.probe(lab.state, tasks, 1.0)
    return {pair: result.reachable for pair, result in zip(pairs, results)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_pair_meets_the_truth_table(addresses, case):
    pods, cidrs = addresses
    lab = kindscape.up(loads(scenario(case.policies(pods, cidrs))))
    try:
        for port, protocol, truth in case.probes:
            found = probe_all(lab, port, protocol)
            wrong = [pair for pair, value in found.items() if value != truth.table[pair]]
            assert not wrong, (f"{case.name} on {port}/{protocol}: {len(wrong)} pairs differ "
                               f"(e.g. {wrong[0]})\n" + matrix(found, truth.table))
            _trace_agrees(lab, truth, port, protocol)
    finally:
        lab.down()


def _trace_agrees(lab, truth: Truth, port: int, protocol: str) -> None:
    """trace says what the probes found, for the first allowed and the first denied pair,
    and names a policy (or none) for each direction it judged."""
    for wanted in (True, False):
        pair = next((p for p, value in truth.table.items() if value is wanted), None)
        if pair is None:
            continue
        report = lab.trace(endpoint(pair[0]), endpoint(pair[1]), port, protocol=protocol)
        assert report.ok is wanted, (pair, port, protocol, report.reason)
        assert report.policies and all(p["text"] for p in report.policies), report.policies
        if not wanted:
            assert "kube-network-policies" in (report.reason or ""), report.reason
