"""IPv6 and dual-stack as KIND makes them: the `kind` network's ULA, addresses and podCIDRs
in each family, primary family first, family-aware routes and masquerade, located errors."""

from __future__ import annotations

import pytest

import kindscape
from kindscape.runtimes.netns import ops
from kindscape.runtimes.netns import planner
from kindscape.scenario import loads
from kindscape.scenario.families import kind_ula_subnet
from kindscape.scenario.resolve import pod_cidr
from tests.conftest import EXAMPLES

HEAD = "apiVersion: kindscape/v1alpha1\nkind: Scenario\nname: t\n"


def _cluster(name: str, networking: str, nodes: str = "[{role: control-plane}, {role: worker}]") -> str:
    return (f"  - name: {name}\n    config:\n      kind: Cluster\n      apiVersion: kind.x-k8s.io/v1alpha4\n"
            f"      networking: {networking}\n      nodes: {nodes}\n")


def _problems(text: str) -> list[str]:
    with pytest.raises(kindscape.ScenarioError) as caught:
        loads(text)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_kind_ula_is_derived_from_the_network_name_as_kind_does():
    assert str(kind_ula_subnet("kind")) == "fc00:f853:ccd:e793::/64"
    assert kind_ula_subnet("kind", 1) != kind_ula_subnet("kind")  # KIND's next probing attempt
    assert str(kind_ula_subnet("other")).startswith("fc00:")


def test_ipv6_pod_cidrs_are_64s_of_the_56_in_node_order():
    import ipaddress
    subnet = ipaddress.ip_network("fd00:10:244::/56")
    assert [str(pod_cidr(subnet, n)) for n in range(3)] == \
        ["fd00:10:244::/64", "fd00:10:244:1::/64", "fd00:10:244:2::/64"]


def test_ipv4_scenarios_keep_an_ipv4_only_kind_network():
    topo = kindscape.load(EXAMPLES / "multi-cluster.yaml").topology
    assert [str(s) for s in topo.network("kind").subnets] == ["172.18.0.0/16"]


def test_ipv6_cluster_gets_kind_ula_and_ipv6_node_addresses():
    topo = kindscape.load(EXAMPLES / "ipv6-multi-cluster.yaml").topology
    kind = topo.network("kind")
    assert [str(s) for s in kind.subnets] == ["172.18.0.0/16", "fc00:f853:ccd:e793::/64"]
    assert [str(g) for g in kind.gateways] == ["172.18.0.1", "fc00:f853:ccd:e793::1"]
    worker = topo.node("cluster-a-worker")
    # Docker gives the container both families; the InternalIP is the cluster's family only.
    assert [str(a) for a in worker.attachments[0].addresses] == ["172.18.0.3", "fc00:f853:ccd:e793::3"]
    assert [str(a) for a in worker.internal_ips] == ["fc00:f853:ccd:e793::3"]
    assert [str(c) for c in worker.pod_cidrs] == ["fd00:10:110:1::/64"]
    assert [str(a) for a in worker.pods[0].addresses] == ["fd00:10:110:1::2"]
    assert [str(a) for a in worker.pods[0].gateways] == ["fd00:10:110:1::1"]


def test_dual_stack_order_decides_the_primary_family():
    topo = kindscape.load(EXAMPLES / "dual-stack.yaml").topology
    a, b = topo.node("cluster-a-worker"), topo.node("cluster-b-worker")
    assert [str(x) for x in a.internal_ips] == ["172.18.0.3", "fc00:f853:ccd:e793::3"]
    assert [str(x) for x in b.internal_ips] == ["fc00:f853:ccd:e793::5", "172.18.0.5"]
    assert [str(x) for x in b.pod_cidrs] == ["fd00:10:220:1::/64", "10.220.1.0/24"]
    assert [str(x) for x in b.pods[0].addresses] == ["fd00:10:220:1::2", "10.220.1.2"]
    vm1 = topo.hosts[0]
    assert [str(x) for x in vm1.attachments[0].addresses] == ["172.18.0.200", "fc00:f853:ccd:e793::c8"]


def test_ipv6_plan_uses_ip6_routes_and_masquerade_and_ptp():
    plan = planner.plan(kindscape.load(EXAMPLES / "ipv6-multi-cluster.yaml").topology)
    node = "cluster-a-worker"
    pod = [r for r in plan.of(ops.Route) if r.ns.endswith(f"{node}.pod1")]
    assert [(r.to, r.via, r.dev, r.family) for r in pod] == [
        ("fd00:10:110:1::1/128", "", "eth0", 6), ("default", "fd00:10:110:1::1", "eth0", 6)]
    remote = [r for r in plan.of(ops.Route) if r.ns.endswith(f".{node}") and "interconnect" in r.comment]
    assert {(r.to, r.via) for r in remote} == {("fd00:10:220::/64", "fc00:f853:ccd:e793::4"),
                                               ("fd00:10:220:1::/64", "fc00:f853:ccd:e793::5")}
    rules = next(r for r in plan.of(ops.Ruleset) if r.ns.endswith(f".{node}"))
    assert "ip6 daddr { fd00:10:220::/56 } return" in rules.text
    # kindnet masquerades only in its cluster's family, though the node also has IPv4 on kind.
    assert "meta nfproto ipv6 masquerade" in rules.text and " ip daddr" not in rules.text
    sysctls = {(s.key, s.value) for s in plan.of(ops.Sysctl) if s.ns.endswith(f".{node}")}
    assert ("net.ipv6.conf.all.forwarding", "1") in sysctls
    assert ("net.ipv6.conf.default.accept_dad", "0") in sysctls
    assert all(a.address.endswith("/128") for a in plan.of(ops.Address) if ".pod1" in a.ns)


def test_ipv4_only_plans_have_no_ipv6_extras():
    plan = planner.plan(kindscape.load(EXAMPLES / "multi-cluster.yaml").topology)
    assert not [s for s in plan.of(ops.Sysctl) if "accept_dad" in s.key]
    assert all(r.family == 4 for r in plan.of(ops.Route))


def test_dual_stack_user_network_host_address_and_loopbacks():
    text = HEAD + """networks:
  - {name: net2, subnet: "172.16.17.0/24,fd00:17::/64", gateway: "fd00:17::fe"}
clusters:
""" + _cluster("a", '{ipFamily: dual, podSubnet: "fd00:10:1::/56,10.1.0.0/16", serviceSubnet: "fd00:10:96::/112,10.96.0.0/16"}') + """nodes:
  - {select: "a-*", networks: [net2], loopback: "1.1.1.0/24,fd00:1::/64", nodeAddress: loopback}
hosts:
  - {name: vm1, networks: [net2], address: "fd00:17::64", routesTo: [a]}
"""
    topo = loads(text).topology
    net2 = topo.network("net2")
    assert [str(g) for g in net2.gateways] == ["172.16.17.1", "fd00:17::fe"]
    worker = topo.node("a-worker")
    assert [str(a) for a in worker.loopbacks] == ["1.1.1.2", "fd00:1::2"]
    assert [str(a) for a in worker.internal_ips] == ["fd00:1::2", "1.1.1.2"]  # IPv6-primary cluster
    vm1 = topo.hosts[0]
    assert [str(a) for a in vm1.attachments[0].addresses] == ["172.16.17.4", "fd00:17::64"]
    plan = planner.plan(topo)
    proxies = [(p.ns.rsplit(".", 1)[-1], p.dev, p.address) for p in plan.of(ops.NeighProxy)]
    assert ("a-worker", "eth0", "fd00:1::2") in proxies and ("a-worker", "eth1", "fd00:1::2") in proxies
    onlink = [r for r in plan.of(ops.Route) if r.ns.endswith(".a-control-plane") and r.to == "fd00:1::2/128"]
    assert onlink and onlink[0].scope == "link"


def test_family_errors_are_located():
    v6 = '{ipFamily: ipv6, podSubnet: "fd00:10:1::/56", serviceSubnet: "fd00:10:96::/112"}'
    text = HEAD + """networks:
  - {name: net4, subnet: 172.16.17.0/24}
clusters:
""" + _cluster("a", v6) + """nodes:
  - {select: "a-worker", networks: [net4], nodeAddress: net4, routes: [{to: "fd00:99::/64", via: 172.16.17.1}]}
"""
    assert _problems(text) == [
        "nodes[0].nodeAddress: node a-worker has no IPv6 address on its network net4, and its cluster needs one",
        "nodes[0].routes[0].via: next hop 172.16.17.1 is not of the family of fd00:99::/64",
    ]
    hosts = text.split("\nnodes:")[0] + """
nodes:
  - {select: "a-*", networks: [net4]}
hosts:
  - {name: vm1, networks: [net4], routesTo: [a]}
"""
    assert _problems(hosts) == [
        "hosts[0].routesTo[0]: host vm1 shares no IPv6 network with cluster a's nodes (the cluster is IPv6 only)"]


def test_declared_ipv4_only_kind_under_ipv6_cluster_is_refused_with_kinds_ula():
    text = HEAD + "networks: [{name: kind, subnet: 172.18.0.0/16}]\nclusters:\n" + \
        _cluster("a", "{ipFamily: ipv6}")
    with pytest.raises(kindscape.ScenarioError) as caught:
        loads(text)
    problem = caught.value.problems[0]
    assert problem.path == "networks[0].subnet"
    assert "172.18.0.0/16,fc00:f853:ccd:e793::/64" in problem.hint


def test_kind_defaults_for_ipv6_and_dual():
    v6 = loads(HEAD + "clusters:\n" + _cluster("a", "{ipFamily: ipv6}")).topology.clusters[0]
    assert [str(s) for s in v6.pod_subnets] == ["fd00:10:244::/56"]
    assert [str(s) for s in v6.service_subnets] == ["fd00:10:96::/112"]
    assert [str(a) for a in v6.dns_ips] == ["fd00:10:96::a"]
    dual = loads(HEAD + "clusters:\n" + _cluster("a", "{ipFamily: dual}")).topology.clusters[0]
    assert [str(s) for s in dual.pod_subnets] == ["10.244.0.0/16", "fd00:10:244::/56"]


def test_expectation_without_a_common_family_is_refused():
    text = HEAD + "clusters:\n" + _cluster("a", "{ipFamily: ipv6}") + \
        "hosts:\n  - {name: vm1, networks: [net4]}\nnetworks:\n  - {name: net4, subnet: 172.16.17.0/24}\n" + \
        "expect:\n  - {from: a/pods, to: vm1}\n  - {from: a/nodes, to: a/pods}\n"
    assert _problems(text) == [
        "expect[0]: a/pods (IPv6) and vm1 (IPv4) share no IP family: there is nothing to probe"]


def test_ipv6_only_kind_network_under_an_ipv4_cluster_is_refused():
    text = HEAD + "networks: [{name: kind, subnet: 'fc00:f853:ccd:e793::/64'}]\nclusters:\n" + \
        _cluster("a", "{podSubnet: 10.1.0.0/16}", "[{role: control-plane}]")
    assert _problems(text) == ["clusters[0].config.nodes: node a-control-plane has no IPv4 address "
                               "on its network kind, and its cluster needs one"]
