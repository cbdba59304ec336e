"""Multi-homed nodes, as the page's "Multiple network interfaces and Multi-Home Nodes":
a second network on every node, loopbacks, static routes, and the node's InternalIP moved
to its loopback (kindnet's routes follow it)."""

from __future__ import annotations

import pytest

import kindscape
from tests.conftest import EXAMPLES
from tests.machine import up_without_leaks


@pytest.fixture(scope="module")
def multihome():
    yield from up_without_leaks(EXAMPLES / "multi-home.yaml")


def test_multi_home_example_meets_its_expectations(multihome, no_leaks):
    report = multihome.check()
    assert report.ok, report.failures


def test_each_node_gets_an_interface_on_the_second_network(multihome):
    addresses = [multihome.exec(n, ["ip", "-4", "-o", "addr", "show", "eth1"]).stdout
                 for n in ("cluster-a-control-plane", "cluster-a-worker", "cluster-a-worker2")]
    assert ["172.16.17.2/24" in addresses[0], "172.16.17.3/24" in addresses[1],
            "172.16.17.4/24" in addresses[2]] == [True, True, True]


def test_loopbacks_in_node_order_and_the_static_route(multihome):
    doc = multihome.status()
    nodes = doc["clusters"][0]["nodes"]
    assert [n["addresses"]["loopback"] for n in nodes] == ["10.255.255.1", "10.255.255.2", "10.255.255.3"]
    assert [n["address"] for n in nodes] == ["10.255.255.1", "10.255.255.2", "10.255.255.3"]
    assert nodes[1]["addresses"] == {"kind": "172.18.0.3", "my-net2": "172.16.17.3",
                                     "loopback": "10.255.255.2"}
    lo = multihome.exec("cluster-a-worker", ["ip", "-o", "addr", "show", "lo"]).stdout
    assert "10.255.255.2/32" in lo
    routes = multihome.exec("cluster-a-worker", ["ip", "route"]).stdout
    assert "10.0.0.0/24 via 172.16.17.1 dev eth1" in routes


def test_kindnet_routes_use_the_moved_node_address(multihome):
    routes = multihome.exec("cluster-a-worker", ["ip", "route"]).stdout
    assert "10.110.0.0/24 via 10.255.255.1" in routes      # the control-plane's podCIDR via its loopback
    assert "10.255.255.1 dev eth0 scope link" in routes     # and how the loopback is reached
    report = multihome.check(all=True)
    pods = [r for r in report.results if "/pod" in r.task.source and "/pod" in r.task.target]
    assert pods and all(r.reachable and r.source_preserved for r in pods)


def test_a_host_on_the_second_network_routes_via_the_nodes_there(multihome):
    routes = multihome.exec("router", ["ip", "route"]).stdout
    assert "10.110.1.0/24 via 172.16.17.3 dev eth0" in routes
    out = multihome.exec("router", ["sh", "-c", "echo | nc -w 2 10.110.1.2 8080"]).stdout
    assert out.strip() == "cluster-a-worker/pod1 172.16.17.5"


def test_nodes_run_with_strict_rp_filter(multihome):
    value = multihome.exec("cluster-a-worker", ["sysctl", "-n", "net.ipv4.conf.all.rp_filter"]).stdout
    assert value.strip() == "1"


def test_hosts_multi_homed_nodes_and_interconnect_together(no_leaks):
    with kindscape.up(EXAMPLES / "hosts-and-multihome.yaml") as lab:
        report = lab.check()
        assert report.ok, report.failures
        routes = lab.exec("cluster-a-worker", ["ip", "route"]).stdout
        # cluster-b's InternalIPs are loopbacks, reached on-link over the shared backbone or kind
        assert "10.220.1.0/24 via 10.255.0.2" in routes
        vm2 = lab.exec("vm2", ["ip", "route"]).stdout
        assert "10.220.0.0/24 via 172.16.17.4 dev eth0" in vm2
