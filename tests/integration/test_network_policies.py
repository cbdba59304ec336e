"""NetworkPolicy on real namespaces beyond the truth tables: the example's expectations,
trace and `check --explain` naming the deciding policy and rule, selectors confined to
their own cluster (another cluster's pods matched by ipBlock on the address they arrive
with), and SCTP refused by a kernel without it."""

from __future__ import annotations

import json

import pytest

import kindscape
from kindscape.errors import KernelFeatureMissing
from kindscape.probe import checks
from kindscape.linux import nsfs
from kindscape.scenario import loads
from kindscape.topology import Expectation
from tests.conftest import EXAMPLES
from tests.machine import up_without_leaks


@pytest.fixture(scope="module")
def example():
    nsfs.prepare_netns_dir()  # /run/netns: the first `up` of a machine mounts it, and keeps it
    yield from up_without_leaks(EXAMPLES / "network-policies.yaml")


def test_the_example_meets_its_expectations(example):
    report = example.check()
    assert report.ok, report.failures
    results = report.to_json()["results"]
    assert {(r["port"], r["protocol"]) for r in results} >= {(80, "TCP"), (53, "UDP"), (8080, "TCP")}


def test_trace_names_the_policy_and_rule_that_allowed(example):
    report = example.trace("east/pod/frontend/web/1", "east/pod/backend/api", 53, protocol="UDP")
    assert report.ok
    decided = [p for p in report.to_json()["policies"] if p["direction"] == "ingress"]
    assert decided == [{"at": "east-worker", "direction": "ingress", "policy": "backend/api-from-frontend",
                        "rule": 0, "allowed": True, "selectedBy": None,
                        "text": "ingress: allowed by backend/api-from-frontend ingress rule 0"}]


def test_trace_names_the_policies_that_isolate_a_dropped_connection(example):
    report = example.trace("east/pod/tools/debug", "east/pod/backend/api", 80)
    data = json.loads(json.dumps(report.to_json()))
    assert data["verdict"] == "dropped"
    assert "ingress: no rule allows it" in data["reason"]
    ingress = next(p for p in data["policies"] if p["direction"] == "ingress")
    assert (ingress["allowed"], ingress["selectedBy"]) == (False, ["backend/default-deny", "backend/api-from-frontend"])
    egress = next(p for p in data["policies"] if p["direction"] == "egress")
    assert egress["text"] == "egress: not selected by any policy"


def test_check_explain_says_which_policy_decided(example):
    wrong = [Expectation("east/ns/tools", "east/pod/backend/api", True, None, 80),
             Expectation("east/ns/frontend", "east/pod/backend/api", False, None, 53, "UDP")]
    report = checks.check(example.topology, lambda t: example.runtime.probe(example.state, t, 1.0),
                          expectations=wrong)
    example.explain(report)
    dropped, allowed = (o.explanation for o in report.expectations)
    assert "dropped, selected by backend/default-deny, backend/api-from-frontend" in dropped
    assert "allowed by backend/api-from-frontend ingress rule 0" in allowed and "/UDP" in allowed


TWO_CLUSTERS = """
apiVersion: kindscape/v1alpha1
kind: Scenario
name: np-two
clusters:
  - name: east
    podsPerNode: 0
    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, nodes: [{role: control-plane}, {role: worker}],
             networking: {podSubnet: 10.110.0.0/16, serviceSubnet: 10.115.0.0/16}}
  - name: west
    podsPerNode: 0
    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, nodes: [{role: control-plane}, {role: worker}],
             networking: {podSubnet: 10.220.0.0/16, serviceSubnet: 10.225.0.0/16}}
interconnect: [{clusters: [east, west], masquerade: MASQ}]
namespaces: [{cluster: east, name: x}, {cluster: west, name: x}]
workloads:
  - {cluster: east, namespace: x, name: a, labels: {pod: a}}
  - {cluster: east, namespace: x, name: b, labels: {pod: b}}
  - {cluster: west, namespace: x, name: a, labels: {pod: a}}
networkPolicies:
  - cluster: east
    policy:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: from-any-namespace, namespace: x}
      spec: {podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {}}]}]}
  - cluster: east
    policy:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: from-west, namespace: x}
      spec: {podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{ipBlock: {cidr: BLOCK}}]}]}
expect:
  - {from: west/pod/x/a, to: east/pod/x/a, reachable: false}
  - {from: east/pod/x/b, to: east/pod/x/a, reachable: true}
  - {from: west/pod/x/a, to: east/pod/x/b, reachable: true}
  - {from: east/pod/x/a, to: east/pod/x/b, reachable: false}
"""


@pytest.mark.parametrize("masquerade,block", [("false", "10.220.0.0/16"), ("true", "172.18.0.0/16")])
def test_selectors_see_their_own_cluster_and_ip_blocks_the_arriving_source(no_leaks, masquerade, block):
    """A west pod is no pod to east's selectors (even `namespaceSelector: {}`); east's
    ipBlock matches it by the source it arrives with: its own address, or with the
    interconnect masqueraded its node's address on the kind network."""
    text = TWO_CLUSTERS.replace("MASQ", masquerade).replace("BLOCK", block)
    with kindscape.up(loads(text)) as lab:
        report = lab.check()
        assert report.ok, report.failures


def test_sctp_validates_but_up_refuses_naming_the_kernel_feature(no_leaks):
    text = (EXAMPLES / "network-policies.yaml").read_text().replace(
        "{port: 53, protocol: UDP, name: dns}", "{port: 53, protocol: UDP, name: dns}\n      - {port: 9, protocol: SCTP}").replace(
        "name: network-policies", "name: np-sctp")
    scenario = loads(text)  # valid: SCTP is a protocol of the file format
    assert any(p.protocol == "SCTP" for pod in scenario.topology.pods for p in pod.ports)
    with pytest.raises(KernelFeatureMissing, match=r"east/pod/backend/api port 9/SCTP need SCTP, which this kernel lacks"):
        kindscape.up(scenario)
