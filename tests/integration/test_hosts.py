"""External hosts ("VMs") and the Docker host, as the page's "Emulate external VMs" says:
pods reach a plain host (masqueraded to their node); the host cannot open a connection to
a pod IP until `routesTo` gives it routes; with them it can and the pod sees its address."""

from __future__ import annotations

import pytest

import kindscape
from kindscape.scenario import loads
from tests.conftest import EXAMPLES
from tests.machine import up_without_leaks


@pytest.fixture(scope="module")
def vms():
    yield from up_without_leaks(EXAMPLES / "external-vms.yaml")


def _by_pair(report):
    return {(r.task.source, r.task.target): r for r in report.results}


def test_external_vms_example_meets_its_expectations(vms, no_leaks):
    report = vms.check()
    assert report.ok, report.failures


def test_pods_reach_a_plain_host_seen_as_their_node(vms):
    results = _by_pair(vms.check(all=True))
    seen = results[("cluster-a-worker/pod1", "vm-plain")]
    assert seen.reachable and seen.seen_source == "172.18.0.3"  # cluster-a-worker's address
    assert seen.local_address == "10.110.1.2" and seen.source_preserved is False


def test_plain_host_cannot_open_a_connection_to_a_pod(vms):
    results = _by_pair(vms.check(all=True))
    blocked = results[("vm-plain", "cluster-a-worker/pod1")]
    assert not blocked.reachable and blocked.error
    routes = vms.exec("vm-plain", ["ip", "route"]).stdout
    assert "10.110." not in routes and "default via 172.18.0.1 dev eth0" in routes


def test_routes_to_give_the_host_pod_routes_and_keep_its_address(vms):
    results = _by_pair(vms.check(all=True))
    reached = results[("vm-routed", "cluster-a-worker/pod1")]
    assert reached.reachable and reached.seen_source == "172.18.0.200"
    routes = vms.exec("vm-routed", ["ip", "route"]).stdout
    assert "10.110.0.0/24 via 172.18.0.2" in routes and "10.110.1.0/24 via 172.18.0.3" in routes


def test_addresses_are_handed_out_in_order_static_ones_kept(vms):
    doc = vms.status()
    nodes = [n["address"] for n in doc["clusters"][0]["nodes"]]
    hosts = {h["name"]: h["addresses"]["kind"] for h in doc["hosts"]}
    assert nodes == ["172.18.0.2", "172.18.0.3"]
    assert hosts == {"vm-plain": "172.18.0.4", "vm-routed": "172.18.0.200"}
    ip = vms.exec("vm-routed", ["ip", "-4", "-o", "addr", "show", "eth0"]).stdout
    assert "172.18.0.200/16" in ip


def test_docker_host_routes_to_reach_pods_and_hairpin_plain_hosts(no_leaks):
    # The page's "one route ... via any of the nodes" on the Docker host. As on a real
    # Docker host, every container whose default route is the host now reaches pods too.
    text = (EXAMPLES / "external-vms.yaml").read_text().replace("name: external-vms", "name: vms-docker")
    text += "\ndockerHost:\n  routesTo: [cluster-a]\n"
    with kindscape.up(loads(text)) as lab:
        results = _by_pair(lab.check(all=True))
        report = lab.check()
        from_docker = [r for r in report.results if r.task.source == "docker-host"]
        assert from_docker and all(r.reachable and r.source_preserved for r in from_docker)
        hairpin = results[("vm-plain", "cluster-a-worker/pod1")]
        assert hairpin.reachable and hairpin.seen_source == "172.18.0.4"
        routes = lab.exec("docker-host", ["ip", "route"]).stdout
        assert "10.110.1.0/24 via 172.18.0.3 dev br-kind" in routes


def test_extra_network_is_a_bridge_with_gateway_and_masquerade(no_leaks):
    with kindscape.up(EXAMPLES / "multi-home.yaml") as lab:
        links = lab.exec("docker-host", ["ip", "-o", "addr", "show", "br-my-net2"]).stdout
        assert "172.16.17.1/24" in links
        rules = lab.exec("docker-host", ["nft", "list", "table", "inet", "docker"]).stdout
        assert 'ip saddr 172.16.17.0/24 oifname != "br-my-net2" masquerade' in rules
        assert 'iifname "br-kind" oifname "br-my-net2" drop' in rules  # Docker's isolation
