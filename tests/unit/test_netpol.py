"""NetworkPolicy loading and semantics (pure): the API server's defaults, warnings for
selectors that select nothing, endpoints of workloads, and the rules the plan writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kindscape import endpoints, netpol
from kindscape.plan import netpol_rules as plan_netpol
from kindscape.scenario import loads

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "network-policies.yaml"

HEAD = """
apiVersion: kindscape/v1alpha1
kind: Scenario
name: unit
clusters:
  - name: east
    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, nodes: [{role: control-plane}, {role: worker}, {role: worker}]}
namespaces: [{cluster: east, name: x, labels: {team: blue}}]
workloads:
  - {cluster: east, namespace: x, name: a, labels: {app: a}, replicas: 3}
  - {cluster: east, namespace: x, name: b, labels: {app: b}, nodes: east-control-plane}
"""


def _load(policies: str = ""):
    return loads(HEAD + ("networkPolicies:\n" + policies if policies else ""))


def _policy(spec: str, name: str = "p", namespace: str = "x") -> str:
    return (f"  - cluster: east\n    policy: {{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
            f"metadata: {{name: {name}, namespace: {namespace}}}, spec: {spec}}}\n")


def test_policy_types_default_as_the_api_server_does():
    scenario = _load(_policy("{podSelector: {}}", "in") + _policy("{podSelector: {}, egress: [{}]}", "both"))
    types = {p.name: p.types for p in scenario.topology.clusters[0].policies}
    assert types == {"in": ("Ingress",), "both": ("Ingress", "Egress")}


def test_a_selector_selecting_nothing_is_a_warning_not_an_error():
    scenario = _load(_policy("{podSelector: {matchLabels: {app: zz}}, ingress: [{from: [{podSelector: "
                             "{matchLabels: {app: a}}}, {namespaceSelector: {matchLabels: {team: red}}}]}]}"))
    assert [(w.path.rsplit(".", 1)[-1], w.message) for w in scenario.warnings] == [
        ("podSelector", "selects no pod of namespace x"), ("from[1]", "selects no pod")]


def test_namespaces_carry_the_name_label_and_replicas_spread_in_node_order():
    cluster = _load().topology.clusters[0]
    assert dict(next(n for n in cluster.namespaces if n.name == "x").labels) == {
        "team": "blue", "kubernetes.io/metadata.name": "x"}
    placed = {p.name: p.node for p in cluster.pods if p.workload == "a"}
    assert placed == {"east/pod/x/a/0": "east-worker", "east/pod/x/a/1": "east-worker2",
                      "east/pod/x/a/2": "east-worker"}


def test_workload_and_namespace_endpoints():
    topology = _load().topology
    assert [e.name for e in endpoints.resolve(topology, "east/pod/x/a/2")] == ["east/pod/x/a/2"]
    assert len(endpoints.resolve(topology, "east/pod/x/a")) == 3
    assert len(endpoints.resolve(topology, "east/ns/x")) == 4
    with pytest.raises(endpoints.EndpointError, match="no replica '3'"):
        endpoints.resolve(topology, "east/pod/x/a/3")


def _view(name, namespace="x", **labels):
    return netpol.PodView(name, namespace, labels, (netpol.ServedPort(8080, "TCP", "http"),))


def test_decide_names_the_first_allowing_rule_and_every_isolating_policy():
    selector = netpol.LabelSelector((("app", "a"),))
    deny = netpol.NetworkPolicy("east", "x", "deny", netpol.LabelSelector(), ("Ingress",))
    allow = netpol.NetworkPolicy("east", "x", "allow", selector, ("Ingress",), ingress=(
        netpol.Rule(ports=(netpol.PolicyPort("UDP"),)),
        netpol.Rule(peers=(netpol.Peer(pods=netpol.LabelSelector((("app", "b"),))),),
                    ports=(netpol.PolicyPort("TCP", "http"),))))
    policies, target = (deny, allow), _view("a", app="a")
    allowed = netpol.decide(policies, "Ingress", target, _view("b", app="b"), None, 8080, "TCP", {})
    assert (allowed.allowed, allowed.policy, allowed.rule) == (True, "x/allow", 1)
    dropped = netpol.decide(policies, "Ingress", target, _view("c", app="c"), None, 8080, "TCP", {})
    assert (dropped.allowed, dropped.selected_by) == (False, ("x/deny", "x/allow"))
    free = netpol.decide(policies, "Egress", target, None, None, 80, "TCP", {})
    assert free.allowed and free.text() == "egress: not selected by any policy"


def test_the_rules_are_in_decide_order_and_each_node_holds_only_its_pods():
    cluster = loads(EXAMPLE.read_text()).topology.clusters[0]
    rulesets = {r.ns.rsplit(".", 1)[-1]: r.text for r in plan_netpol.rulesets(cluster)}
    assert list(rulesets) == ["east-worker"]  # the api pod's node: nothing selects the others' pods
    text = rulesets["east-worker"]
    assert "priority srcnat - 5" in text and "ct state established,related accept" in text
    assert text.index('"backend/api-from-frontend ingress rule 0"') < text.index('"ingress: no rule allows it"')
    api = next(p for p in cluster.pods if p.name == "east/pod/backend/api")
    assert f"set ingress_pods4 {{ type ipv4_addr; elements = {{ {api.addresses[0]} }}; }}" in text


def test_status_and_graph_show_namespaces_workloads_and_policies():
    from kindscape.render import policy_tables as render_policies
    cluster = loads(EXAMPLE.read_text()).topology.clusters[0]
    doc = render_policies.cluster_json(cluster)
    assert [n["name"] for n in doc["namespaces"]] == ["default", "kube-system", "frontend", "backend", "tools"]
    web = next(w for w in doc["workloads"] if w["name"] == "web")
    assert [p["name"] for p in web["pods"]] == ["web-0", "web-1"]
    assert [(p["name"], p["selects"]) for p in doc["networkPolicies"]] == [
        ("default-deny", ["east/pod/backend/api"]), ("api-from-frontend", ["east/pod/backend/api"])]
    label = render_policies.namespaces_label(cluster)
    assert "policies: default-deny [I], api-from-frontend [I]" in label and "frontend (tier=front): web×2" in label


def test_the_check_table_groups_targets_by_port_and_protocol_when_several():
    from kindscape.probe.checks import CheckReport
    from kindscape.probe.prober import ProbeResult, ProbeTask
    from kindscape.render.tables import check_matrix
    from kindscape.render.view import plain
    tasks = [ProbeTask("a", "ns-a", "b", "10.0.0.2", 80, "TCP"), ProbeTask("a", "ns-a", "b", "10.0.0.2", 80, "UDP")]
    report = CheckReport("s", [ProbeResult(tasks[0], reachable=True), ProbeResult(tasks[1])], [],
                         {"a": "east/pods", "b": "east/pods"})
    text = plain(check_matrix(report))
    assert "east/pods 80/TCP" in text and "east/pods 80/UDP" in text
    single = CheckReport("s", [ProbeResult(tasks[0], reachable=True)], [], {"a": "east/pods", "b": "east/pods"})
    assert "80/TCP" not in plain(check_matrix(single))


def test_the_kind_runtime_applies_each_policy_as_the_object_that_was_read():
    """Rendered back to a v1 object for kubectl, a policy reads as the same policy."""
    from kindscape.errors import Problem  # noqa: F401  (the reader reports through it)
    from kindscape.runtimes.kind.policy_manifests import policy_manifest
    from kindscape.scenario.policyschema import PolicyReader
    from kindscape.scenario.yamlsource import Locator
    from tests.integration.test_netpol_oracle import random_policies
    from tests.netpol_model import scenario as model_scenario
    originals = random_policies(7) + [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                       "metadata": {"name": "block", "namespace": "x"},
                                       "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {
                                           "cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}}]
    for policy in loads(model_scenario(originals)).topology.clusters[0].policies:
        problems: list = []
        again = PolicyReader(Locator(), problems).policy(policy_manifest(policy), (), policy.cluster)
        assert problems == [] and again == policy
