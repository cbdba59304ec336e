"""Services on real namespaces: real TCP connections through kube-proxy's nft rules, real
DNS questions (dig, from inside the pods, through their resolv.conf) to the cluster DNS,
the seed page's "route to the serviceSubnet via any node", NodePort and LoadBalancer from
a plain host, and nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import kindscape
from kindscape.probe import prober
from kindscape.probe.prober import ProbeTask
from tests.conftest import EXAMPLES
from tests.machine import up_without_leaks

SERVICES = EXAMPLES / "services.yaml"
WORKERS = {"cluster-a-worker/pod1", "cluster-a-worker/pod2", "cluster-a-worker2/pod1", "cluster-a-worker2/pod2"}


@pytest.fixture(scope="module")
def lab(machine_before):
    """One scenario for the module (up takes ~0.5 s); the leak check is around all of it."""
    yield from up_without_leaks(SERVICES)


def _dig(lab, endpoint: str, *args: str) -> list[str]:
    done = lab.exec(endpoint, ["dig", "+short", "+time=2", "+tries=1", *args])
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.split())


def _results(report, source: str, target: str):
    return [r for r in report.results if r.task.source.startswith(source) and r.task.target == target]


def test_the_example_meets_its_expectations(lab):
    report = lab.check()
    assert report.ok, report.failures
    for result in report.results:
        if result.reachable:
            assert result.answered_by, result  # every Service probe says which backend answered


def test_clusterip_from_pods_is_dnat_only_and_answered_by_a_backend(lab):
    report = lab.check()
    found = _results(report, "cluster-a-control-plane/pod1", "cluster-a/svc/default/web")
    assert len(found) == 1 and found[0].reachable
    assert found[0].answered_by in WORKERS
    assert found[0].seen_source == "10.110.0.2"  # the pod's own address: no masquerade


def test_clusterip_spreads_connections_across_all_backends(lab):
    task = ProbeTask("cluster-a-control-plane/pod1", lab.topology.pods[0].netns,
                     "cluster-a/svc/default/web", "10.115.0.20", 80)
    results = prober.run([task] * 60, timeout=2.0)
    assert all(r.reachable for r in results), [r.error for r in results if not r.reachable]
    answered = [r.answered_by for r in results]
    # Random per connection (kube-proxy's numgen): 60 tries miss one of 4 with p ~ 1e-7.
    assert set(answered) == WORKERS, answered


def test_host_with_service_route_reaches_clusterip_masqueraded(lab):
    report = lab.check()
    [routed] = _results(report, "vm-routed", "cluster-a/svc/default/web")
    assert routed.reachable and routed.answered_by in WORKERS
    # kube-proxy masqueraded it at the node the host routes through, so the reply comes back there.
    assert routed.seen_source == "172.18.0.2" and routed.source_preserved is False
    [plain] = _results(report, "vm-plain", "cluster-a/svc/default/web")
    assert not plain.reachable and plain.error


def test_docker_host_with_service_routes_reaches_clusterip(no_leaks, tmp_path):
    text = SERVICES.read_text().replace("name: services\n", "name: services-dh\n")
    text = text.replace("\nservices:\n", "\ndockerHost:\n  serviceRoutesTo: [cluster-a]\n\nservices:\n", 1)
    text = text[:text.index("\nexpect:")] + "\n"  # (vm-plain's gateway is docker-host: it would reach too)
    path = tmp_path / "docker-host.yaml"
    path.write_text(text)
    with kindscape.up(path) as other:
        assert other.topology.docker_host.service_routes_to == ("cluster-a",)
        task = ProbeTask("docker-host", other.topology.docker_host.netns, "cluster-a/svc/default/web",
                         "10.115.0.20", 80)
        [result] = prober.run([task], timeout=2.0)
        assert result.reachable and result.answered_by in WORKERS
        assert result.seen_source == "172.18.0.2"  # masqueraded by the node docker-host routes through
        answer = other.exec("docker-host", ["dig", "+short", "+time=2", "+tries=1", "@10.115.0.10",
                                            "web.default.svc.cluster.local"])
        assert answer.stdout.split() == ["10.115.0.20"], answer


def test_nodeport_answers_on_every_node_address_from_a_plain_host(lab):
    report = lab.check()
    found = _results(report, "vm-plain", "cluster-a/nodeport/default/web-np")
    assert sorted(r.task.address for r in found) == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert all(r.reachable and r.task.port == 30080 for r in found)
    assert all(r.source_preserved is False for r in found)  # externalTrafficPolicy: Cluster masquerades


def test_load_balancer_address_is_reachable_from_a_plain_host(lab):
    report = lab.check()
    [result] = _results(report, "vm-plain", "cluster-a/lb/default/web-lb")
    assert result.reachable and result.task.address == "172.18.0.7"
    assert result.answered_by in {"cluster-a-worker2/pod1", "cluster-a-worker2/pod2"}  # on targetPort 9376
    # The announcing node answered ARP for it: the host's neighbour entry has that node's MAC.
    neigh = lab.exec("vm-plain", ["ip", "neigh", "show", "172.18.0.7"]).stdout.split()
    node_mac = lab.exec("cluster-a-control-plane", ["cat", "/sys/class/net/eth0/address"]).stdout.strip()
    assert node_mac in neigh


def test_pods_listen_on_target_ports_of_their_services_only(lab):
    selected = lab.exec("cluster-a-worker2/pod1", ["sh", "-c", "echo | nc -w 2 10.110.2.2 9376"])
    assert selected.stdout.split()[0] == "cluster-a-worker2/pod1"
    other = lab.exec("cluster-a-worker2/pod1", ["sh", "-c", "echo | nc -w 2 10.110.0.2 9376"])
    assert other.stdout == "" and other.returncode != 0  # control-plane/pod1 backs no Service on 9376


def test_pods_resolve_services_through_their_resolv_conf(lab):
    pod = "cluster-a-worker/pod1"
    conf = lab.exec(pod, ["cat", "/etc/resolv.conf"]).stdout
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in conf
    assert "nameserver 10.115.0.10" in conf and "options ndots:5" in conf
    assert _dig(lab, pod, "web.default.svc.cluster.local") == ["10.115.0.20"]
    assert _dig(lab, pod, "+search", "web") == ["10.115.0.20"]  # KIND's search path
    assert _dig(lab, pod, "+tcp", "web-lb.default.svc.cluster.local") == ["10.115.0.22"]
    lookup = lab.exec(pod, ["nslookup", "web-np"])
    assert "Address: 10.115.0.21" in lookup.stdout, lookup


def test_headless_answers_exactly_the_selected_pods(lab):
    cluster = lab.status()["clusters"][0]
    db = next(s for s in cluster["services"] if s["name"] == "db")
    pods = {p["name"]: p["address"] for node in cluster["nodes"] for p in node["pods"]}
    expected = sorted(pods[name] for name in db["backends"])
    assert expected == ["10.110.1.2", "10.110.1.3"]
    assert _dig(lab, "cluster-a-worker2/pod2", "db.data.svc.cluster.local") == expected
    srv = _dig(lab, "cluster-a-worker2/pod2", "SRV", "db.data.svc.cluster.local")
    assert [w for w in srv if w.endswith(".")] == ["10-110-1-2.db.data.svc.cluster.local.",
                                                   "10-110-1-3.db.data.svc.cluster.local."]


def test_external_name_is_a_cname_and_unknown_names_are_nxdomain(lab):
    pod = "cluster-a-control-plane/pod2"
    assert _dig(lab, pod, "upstream.default.svc.cluster.local") == ["db.example.internal."]
    missing = lab.exec(pod, ["dig", "+time=2", "+tries=1", "nope.default.svc.cluster.local"])
    assert "status: NXDOMAIN" in missing.stdout


def test_dns_needs_the_service_route_from_outside_the_cluster(lab):
    routed = lab.exec("vm-routed", ["dig", "+short", "+time=2", "+tries=1", "@10.115.0.10",
                                    "web.default.svc.cluster.local"])
    assert routed.stdout.split() == ["10.115.0.20"]
    plain = lab.exec("vm-plain", ["dig", "+short", "+time=1", "+tries=1", "@10.115.0.10",
                                  "web.default.svc.cluster.local"])
    assert plain.returncode != 0 and "10.115.0.20" not in plain.stdout


def test_status_and_check_json_show_services(lab):
    doc = json.loads(subprocess.run(["kindscape", "status", "services", "-o", "json"],
                                    capture_output=True, text=True, check=True).stdout)
    services = {s["name"]: s for s in doc["clusters"][0]["services"]}
    assert services["web"]["clusterIP"] == "10.115.0.20" and services["web"]["port"] == 80
    assert services["web-lb"]["loadBalancerIP"] == "172.18.0.7"
    assert services["web-lb"]["loadBalancerNode"] == "cluster-a-control-plane"
    assert services["upstream"]["externalName"] == "db.example.internal"
    table = subprocess.run(["kindscape", "check", "services"], capture_output=True, text=True,
                           env=dict(os.environ, COLUMNS="200"))
    assert table.returncode == 0, table.stdout + table.stderr
    assert "services: who answered" in table.stdout


def test_services_scenario_comes_down_without_leaks(no_leaks, tmp_path):
    path = tmp_path / "leak.yaml"
    path.write_text(SERVICES.read_text().replace("name: services\n", "name: services-leak\n"))
    lab = kindscape.up(path)
    files = list(lab.state.files)
    # one /etc/netns/<pod> per pod, each showing its resolv.conf
    assert len(files) == 6 and all(os.path.isfile(os.path.join(f, "resolv.conf")) for f in files)
    lab.down()
    assert not any(os.path.lexists(f) for f in files)
