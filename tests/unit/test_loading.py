"""Loading: KIND's names, addresses and podCIDRs; located problems; no tracebacks."""

from __future__ import annotations

import pytest

import kindscape
from kindscape.scenario import loads
from kindscape.scenario.naming import kind_node_names
from kindscape.scenario.yamlsource import parse_yaml
from tests.conftest import EXAMPLES

HEAD = "apiVersion: kindscape/v1alpha1\nkind: Scenario\nname: t\n"


def test_kind_node_names_follow_kind():
    roles = ("control-plane", "control-plane", "worker", "worker", "worker")
    assert kind_node_names("c", roles) == ["c-control-plane", "c-control-plane2", "c-worker",
                                           "c-worker2", "c-worker3"]


def test_seed_example_addresses_and_pod_cidrs():
    topo = kindscape.load(EXAMPLES / "multi-cluster.yaml").topology
    rows = [(n.name, str(n.internal_ips[0]), str(n.pod_cidrs[0]), str(n.pods[0].addresses[0]))
            for n in topo.nodes]
    assert rows == [
        ("cluster-a-control-plane", "172.18.0.2", "10.110.0.0/24", "10.110.0.2"),
        ("cluster-a-worker", "172.18.0.3", "10.110.1.0/24", "10.110.1.2"),
        ("cluster-b-control-plane", "172.18.0.4", "10.220.0.0/24", "10.220.0.2"),
        ("cluster-b-worker", "172.18.0.5", "10.220.1.0/24", "10.220.1.2"),
    ]
    assert [str(a) for a in topo.cluster("cluster-a").dns_ips] == ["10.115.0.10"]


def test_duplicate_keys_are_reported_with_both_lines():
    doc = parse_yaml("a: 1\nb: 2\na: 3\n")
    assert [(p.path, p.line, p.hint) for p in doc.problems] == [("a", 3, "first defined at line 1")]


def test_every_problem_at_once():
    text = HEAD + ("networks:\n  - name: n1\n  - name: n2\n    subnet: 10.0.0.0/33\n"
                   "clusters:\n  - name: BadName\n    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4}\n")
    with pytest.raises(kindscape.ScenarioError) as caught:
        loads(text, "t.yaml")
    paths = [p.path for p in caught.value.problems]
    assert paths == ["clusters[0].name", "networks[0].subnet", "networks[1].subnet"]


def test_not_a_mapping():
    with pytest.raises(kindscape.ScenarioError, match="must be a mapping"):
        loads("- just\n- a list\n")


@pytest.mark.parametrize("text", ["", "null", "42", "apiVersion: x", HEAD + "clusters: 7\n",
                                  HEAD + "clusters:\n  - {name: a, config: []}\n"])
def test_odd_documents_give_scenario_errors(text):
    with pytest.raises(kindscape.ScenarioError):
        loads(text)


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(kindscape.ScenarioError, match="cannot read the file"):
        kindscape.load(tmp_path / "nope.yaml")


def test_interconnect_star_means_every_cluster():
    topo = kindscape.load(EXAMPLES / "multi-cluster.yaml").topology
    text = (EXAMPLES / "multi-cluster.yaml").read_text().replace("[cluster-a, cluster-b]", '["*"]')
    star = loads(text).topology
    assert star.interconnects[0].clusters == topo.interconnects[0].clusters
