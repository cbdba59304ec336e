"""Services, impairments and partitions of the kind runtime against real dockerd, with the
stand-in's KIND-shaped nodes (standin.py says what it replaces).

What the stand-in cannot show, and is therefore not tested here (tests/docker/
test_real_kind.py does, on a machine with KIND): it has no API server acting on Services,
no kube-proxy (a ClusterIP, NodePort or LoadBalancer answers nothing), no CoreDNS (no name
resolves) and no cloud provider (LoadBalancers get no address). What is tested: the
objects `kubectl apply` receives, the probe pods' labels, the listeners on every
targetPort inside the pods' namespaces, a Headless Service checked through its pods, the
pods' resolv.conf under `exec`, tc and nft in the node and host containers, a rate
limit holding on a real TCP stream between two node containers, and runtime changes
(impair, partition, heal; the CLI too), all removed by `down`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import kindscape
from kindscape.errors import KernelFeatureMissing
from kindscape.probe.prober import ProbeTask
from kindscape.linux import features as kernel
from tests.integration.throughput import stream_bits_per_second
from tests.labs import cli_json, netns_of as _netns

SCENARIO = Path(__file__).parent / "scenarios" / "services-links.yaml"
LIMIT = 20e6  # the file's rate between the two nodes


@pytest.fixture
def lab(standin, monkeypatch, no_leaks):
    monkeypatch.setenv("KINDSCAPE_LB_WAIT", "0")  # no cloud provider here: do not wait for one
    with kindscape.up(SCENARIO, runtime="kind") as running:
        for host in ("kst-svc-vm1",):  # safety, as in test_kind_runtime: no way out of the machine
            standin.client.containers.get(host).exec_run(["ip", "route", "del", "default"])
        yield running


def _objects(standin, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in standin.clusters["kst-s"].objects if o["kind"] == kind}


def _pod_ip(standin, name: str) -> str:
    return standin.clusters["kst-s"].pods[name].ips[0]


def _path(lab, endpoint: str) -> str:
    from kindscape.runtimes.kind.facts import netns_path
    return netns_path(lab.runtime.docker, _netns(lab, endpoint))


def _in_container(lab, container: str, *argv: str) -> str:
    pid = lab.runtime.docker.pid(container)
    return subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", *argv], capture_output=True, text=True,
                          check=True).stdout


def test_services_become_kubernetes_objects_selecting_the_probe_pods(lab, standin):
    services = _objects(standin, "Service")
    assert sorted(services) == ["db", "upstream", "web", "web-lb"]
    web = services["web"]["spec"]
    assert web["clusterIP"] == "10.195.0.20"  # the netns runtime's address, requested
    assert web["selector"] == {"svc.kindscape.io/web": "backend"}
    assert web["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 9376}]
    labels = standin.clusters["kst-s"].labels
    assert labels["ks-kst-s-worker-pod1"]["svc.kindscape.io/web"] == "backend"
    assert "svc.kindscape.io/web" not in labels["ks-kst-s-control-plane-pod1"]  # backends: kst-s-worker
    assert services["web-lb"]["spec"]["ports"][0]["nodePort"] == 30000
    # Another namespace than the pods': no selector, EndpointSlices with the pods' real addresses.
    assert "selector" not in services["db"]["spec"] and services["db"]["spec"]["clusterIP"] == "None"
    assert _objects(standin, "Namespace")["data"]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kindscape"
    slice_ = _objects(standin, "EndpointSlice")["db-kindscape-ipv4"]
    assert [e["addresses"][0] for e in slice_["endpoints"]] == [
        _pod_ip(standin, "ks-kst-s-control-plane-pod1"), _pod_ip(standin, "ks-kst-s-worker-pod1")]
    assert services["upstream"]["spec"] == {"type": "ExternalName", "externalName": "db.example.internal",
                                            "ports": [{"protocol": "TCP", "port": 80}]}
    # No cloud provider here: the status shows no LoadBalancer address, and says why.
    status = lab.status()
    lb = next(s for s in status["clusters"][0]["services"] if s["name"] == "web-lb")
    assert lb["loadBalancerIP"] is None and lb["loadBalancerNode"] is None
    assert any("web-lb" in p and "cloud-provider-kind" in p for p in status["problems"])


def test_pods_listen_on_every_target_port_of_their_services(lab, standin):
    worker, control = _pod_ip(standin, "ks-kst-s-worker-pod1"), _pod_ip(standin, "ks-kst-s-control-plane-pod1")
    vm1 = _netns(lab, "vm1")
    tasks = [ProbeTask("vm1", vm1, "worker:9376", worker, 9376),  # web's targetPort
             ProbeTask("vm1", vm1, "control:9376", control, 9376),  # not web's backend
             ProbeTask("vm1", vm1, "worker:7000", worker, 7000),  # db (Headless): port = targetPort
             ProbeTask("vm1", vm1, "control:7000", control, 7000)]
    results = {r.task.target: r for r in lab.runtime.probe(lab.state, tasks, timeout=1.0)}
    assert results["worker:9376"].reachable and results["worker:9376"].answered_by == "kst-s-worker/pod1"
    assert not results["control:9376"].reachable
    assert results["worker:7000"].reachable and results["control:7000"].reachable
    # A Headless Service is checked through its pods (no kube-proxy needed): as `expect` says.
    report = lab.check(timeout=1.0)
    assert report.ok, json.dumps(report.failures, indent=1)
    db = [r for r in report.results if r.task.target == "kst-s/svc/data/db"]
    assert {r.task.source for r in db} == {"vm1", "kst-s-control-plane/pod1", "kst-s-worker/pod1"}
    assert len(db) == 6 and all(r.reachable for r in db)  # to both pods each


def test_exec_in_a_pod_sees_the_clusters_dns(lab):
    resolv = lab.exec("kst-s-worker/pod1", ["cat", "/etc/resolv.conf"]).stdout
    assert "nameserver 10.195.0.10\n" in resolv  # kube-dns: the serviceSubnet's tenth address
    # kubelet appends the node's search domains (KIND's networking.dnsSearch): divergence 10
    assert "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n" in resolv
    assert "options ndots:5" in resolv
    with open("/etc/resolv.conf", encoding="utf-8") as mine:  # the bind mount stayed private
        assert "10.195.0.10" not in mine.read()
    assert "10.191.1.2/32" in lab.exec("kst-s-worker/pod1", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout


def test_rate_limit_holds_between_node_containers_and_only_there(lab, standin):
    for node in ("kst-s-control-plane", "kst-s-worker"):
        assert "rate 20Mbit" in _in_container(lab, node, "tc", "class", "show", "dev", "eth0")
        assert 'comment "rate 20mbit: ' in _in_container(lab, node, "nft", "list", "table", "netdev",
                                                          "kindscape-impair")
    control, worker, vm1 = (_path(lab, e) for e in ("kst-s-control-plane", "kst-s-worker", "vm1"))
    # (nsfs enters a namespace by path too: the containers' are /proc/<pid>/ns/net)
    across = stream_bits_per_second(control, worker, standin.ip("kst-s-worker"))
    free = stream_bits_per_second(vm1, worker, standin.ip("kst-s-worker"))
    print(f"\nTCP goodput control-plane->worker {across / 1e6:.1f} Mbit/s (limit 20), vm1->worker "
          f"{free / 1e6:.0f} Mbit/s")
    assert 0.80 * LIMIT <= across <= 1.03 * LIMIT
    assert free > 3 * LIMIT
    lab.impair("kst-s-control-plane", "kst-s-worker", rate="5mbit")
    assert "rate 5Mbit" in _in_container(lab, "kst-s-worker", "tc", "class", "show", "dev", "eth0")
    if not kernel.available("netem"):
        with pytest.raises(KernelFeatureMissing, match="delay needs the kernel's netem qdisc"):
            lab.impair("kst-s-control-plane", "kst-s-worker", delay="10ms")
        assert lab.status()["impairments"][0]["rate"] == "5mbit"  # unchanged


def test_partitions_cut_and_heal_restores_also_at_the_network(lab):
    lab.partition("vm1", "kst-s")
    cut = lab.check(all=True, timeout=0.3)
    to_pods = [r for r in cut.results if r.task.source == "vm1" and r.task.target.startswith("kst-s-")]
    assert to_pods and not any(r.reachable for r in to_pods)
    lab.heal("kst-s", "vm1")
    # A network side: its rules live at the Docker host's end of vm1's interface, in a
    # table named for the scenario (this machine's namespace is shared).
    lab.partition("kind", "vm1")
    table = subprocess.run(["nft", "list", "table", "netdev", "kindscape-partition-kst-svc"],
                           capture_output=True, text=True)
    assert table.returncode == 0 and 'comment "partition: kind -> vm1"' in table.stdout
    assert not any(r.reachable for r in lab.check(all=True, timeout=0.3).results if r.task.source == "vm1")
    lab.heal("vm1", "kind")
    assert subprocess.run(["nft", "list", "table", "netdev", "kindscape-partition-kst-svc"],
                          capture_output=True).returncode != 0
    assert lab.check().ok


def test_cli_changes_links_of_a_kind_scenario(lab):
    cli = cli_json
    done = cli("partition", "kst-svc", "kind", "vm1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["partitions"] == [{"between": ["kind", "vm1"]}]
    assert cli("impair", "kst-svc", "vm1", "kst-s-worker", "--loss", "2%").returncode == 0
    assert "loss 2%" in _in_container(lab, "kst-svc-vm1", "nft", "list", "table", "netdev", "kindscape-impair")
    # Left in place for `down` (the fixture's): it removes the containers and this machine's table.


@pytest.mark.skipif(os.geteuid() == 0 and kernel.available("netem"), reason="this kernel has netem: nothing to refuse")
def test_delay_in_the_file_is_refused_before_anything_is_made(standin, no_leaks):
    wan = Path(__file__).parents[2] / "examples" / "multi-region-wan.yaml"  # delay 25ms: no netem here
    with pytest.raises(KernelFeatureMissing, match=r"impairments\[0\]: delay and jitter need the kernel's netem"):
        kindscape.up(wan, runtime="kind")
    assert not standin.created  # no cluster was asked for
