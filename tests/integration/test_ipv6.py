"""IPv6-only and dual-stack scenarios on real namespaces: real TCP probes in each family,
pod source addresses kept across the interconnect, kindnet's ip6 masquerade, IPv6
loopbacks as InternalIPs, and nothing left behind (`no_leaks`)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

import kindscape
from tests.conftest import EXAMPLES
from tests.labs import pairs as _between
from tests.integration.test_trace import traces_agree_with_probes

SCENARIOS = Path(__file__).resolve().parent.parent / "golden" / "scenarios"
ULA = "fc00:f853:ccd:e793::"


@pytest.fixture
def lab(request, no_leaks):
    """The example named by the test's `lab` parameter, up for the test."""
    with kindscape.up(EXAMPLES / request.param) as made:
        yield made


IPV6 = pytest.mark.parametrize("lab", ["ipv6-multi-cluster.yaml"], indirect=True)
DUAL = pytest.mark.parametrize("lab", ["dual-stack.yaml"], indirect=True)


@IPV6
def test_ipv6_clusters_meet_their_expectations_over_ipv6(lab):
    report = lab.check()
    assert report.ok, report.failures
    assert report.results and {r.family for r in report.results} == {6}
    across = _between(report, "cluster-a-worker/pod1", "cluster-b-")
    pods = [r for r in across if "/pod" in r.task.target]
    assert {r.seen_source for r in pods} == {"fd00:10:110:1::2"}  # the pod's own IPv6 address
    assert {r.answered_by for r in pods} == {"cluster-b-control-plane/pod1", "cluster-b-worker/pod1"}
    to_nodes = [r for r in across if "/pod" not in r.task.target]
    assert {r.seen_source for r in to_nodes} == {f"{ULA}3"}  # kindnet's ip6 masquerade: the node


@IPV6
def test_ipv6_pod_and_node_routes_and_http(lab):
    pod = lab.exec("cluster-a-worker/pod1", ["ip", "-6", "route"]).stdout
    assert "default via fd00:10:110:1::1 dev eth0" in pod
    node = lab.exec("cluster-a-worker", ["ip", "-6", "route"]).stdout
    assert f"fd00:10:220:1::/64 via {ULA}5" in node  # the page's loop, in IPv6
    assert f"fd00:10:110::/64 via {ULA}2" in node  # kindnet
    out = lab.exec("cluster-a-worker/pod1",
                        ["curl", "-s", "-g", "http://[fd00:10:220::2]:8080/"]).stdout
    assert out.strip() == "cluster-b-control-plane/pod1 fd00:10:110:1::2"


@IPV6
def test_ipv6_status_shows_the_kind_ula_and_ipv6_node_addresses(lab):
    doc = lab.status()
    assert doc["networks"][0]["subnet"] == f"172.18.0.0/16,{ULA}/64"
    assert doc["networks"][0]["gateway"] == f"172.18.0.1,{ULA}1"
    node = doc["clusters"][1]["nodes"][1]
    assert (node["name"], node["address"], node["podCIDR"]) == ("cluster-b-worker", f"{ULA}5", "fd00:10:220:1::/64")
    assert node["addresses"] == {"kind": f"{ULA}5"}
    assert node["networkAddresses"] == {"kind": ["172.18.0.5", f"{ULA}5"]}
    assert node["pods"][0]["address"] == "fd00:10:220:1::2"


@IPV6
def test_docker_host_reaches_ipv6_nodes_and_masquerades_in_ip6(lab):
    out = lab.exec("docker-host", ["sh", "-c", f"echo | nc -w 2 {ULA}2 8080"])
    assert out.stdout.strip() == f"cluster-a-control-plane {ULA}1", out
    rules = lab.exec("docker-host", ["nft", "list", "table", "inet", "docker"]).stdout
    assert f"ip6 saddr {ULA}/64" in rules and "masquerade" in rules


@DUAL
def test_dual_stack_probes_both_families_and_keeps_sources(lab):
    report = lab.check()
    assert report.ok, report.failures
    pods = _between(report, "cluster-a-worker/pod1", "cluster-b-worker/pod1")
    assert sorted((r.family, r.task.address, r.seen_source) for r in pods) == [
        (4, "10.220.1.2", "10.110.1.2"), (6, "fd00:10:220:1::2", "fd00:10:110:1::2")]
    from_vm = _between(report, "vm1", "cluster-a-worker/pod1")
    assert sorted((r.family, r.seen_source) for r in from_vm) == [(4, "172.18.0.200"), (6, f"{ULA}c8")]
    to_vm = _between(report, "cluster-b-worker/pod1", "vm1")
    assert sorted((r.family, r.seen_source) for r in to_vm) == [(4, "172.18.0.5"), (6, f"{ULA}5")]
    assert {r["family"] for r in report.to_json()["results"]} == {4, 6}


@DUAL
def test_dual_stack_status_lists_both_families_primary_first(lab):
    doc = lab.status()
    a, b = doc["clusters"][0]["nodes"][1], doc["clusters"][1]["nodes"][1]
    assert a["internalIPs"] == ["172.18.0.3", f"{ULA}3"]
    assert b["internalIPs"] == [f"{ULA}5", "172.18.0.5"]  # cluster-b lists IPv6 first
    assert b["podCIDRs"] == ["fd00:10:220:1::/64", "10.220.1.0/24"]
    assert b["pods"][0]["addresses"] == ["fd00:10:220:1::2", "10.220.1.2"]
    assert doc["hosts"][0]["networkAddresses"] == {"kind": ["172.18.0.200", f"{ULA}c8"]}


def test_ipv6_loopback_node_addresses_work_at_once(no_leaks):
    # Right after `up`: no duplicate address detection to wait for, no proxy NDP delay.
    with kindscape.up(SCENARIOS / "ipv6-multihomed.yaml") as multihomed:
        report = multihomed.check(timeout=0.5)
        assert report.ok, report.failures
        assert max(r.rtt_ms for r in report.results) < 100
        neigh = multihomed.exec("cluster-a-worker", ["ip", "-6", "neigh", "show", "proxy"]).stdout
        assert "fd00:1::2 dev eth0 proxy" in neigh and "fd00:1::2 dev eth1 proxy" in neigh
        route = multihomed.exec("cluster-b-worker", ["ip", "-6", "route", "get", "fd00:10:110:1::2"]).stdout
        assert "via fd00:1::2 dev eth0" in route


@pytest.mark.parametrize("lab", ["ipv6-multi-cluster.yaml", "dual-stack.yaml"], indirect=True)
def test_trace_agrees_with_every_probe_in_each_family(lab):
    """`trace` over IPv6 (and both families of a dual-stack scenario): for every pair of
    pods, nodes and docker-host, in each family, the verdict and the source it predicts
    are what a real connection finds."""
    results = traces_agree_with_probes(lab)
    families = {ipaddress.ip_address(r.task.address).version for r in results}
    assert families == ({6} if lab.name == "ipv6-multi-cluster" else {4, 6})
    assert 0 < sum(r.reachable for r in results) < len(results)  # both verdicts are exercised

@IPV6
def test_ipv6_trace_shows_the_interconnect_path_without_nat(lab):
    report = lab.trace("cluster-a-worker/pod1", "cluster-b-worker/pod1")
    assert report.ok and report.source_preserved is True
    assert [h.at for h in report.forward.hops] == \
        ["cluster-a-worker/pod1", "cluster-a-worker", "cluster-b-worker", "cluster-b-worker/pod1"]
    node = next(hop for hop in report.forward.hops if hop.at == "cluster-a-worker")
    assert node.route == f"fd00:10:220:1::/64 via {ULA}5 dev eth0" and node.nat is None
    assert any(s.rule == "interconnect: no masquerade" for s in node.steps)
    unreachable = lab.trace("docker-host", "cluster-b-worker/pod1")
    assert not unreachable.ok and "docker-host: no route to fd00:10:220:1::2" in unreachable.reason
