"""The kind runtime against real dockerd, with KIND-shaped nodes from the stand-in
(standin.py: it replaces `kind create cluster`, kindnet, the kubelet/CNI for probe pods
and kubectl's answers; every Docker-side step here is real)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import kindscape
from kindscape import api

SCENARIOS = Path(__file__).parent / "scenarios"


def _sh(kind, node: str, script: str) -> str:
    return kind.sh(node, script)


def test_two_clusters_interconnected_keep_pod_sources(standin, no_leaks):
    with kindscape.up(SCENARIOS / "two-clusters.yaml", runtime="kind") as lab:
        nodes = sorted(c.name for c in standin.client.containers.list(
            filters={"label": "io.x-k8s.kind.cluster=kst-a"}))
        assert nodes == ["kst-a-control-plane", "kst-a-worker"]
        report = lab.check()
        assert report.ok, json.dumps(report.failures, indent=1)
        cross = [r for r in report.results if r.task.source.startswith("kst-a-worker/") and
                 r.task.target.startswith("kst-b-")]
        assert cross and all(r.seen_source == r.local_address for r in cross)
        # The page's loop, really in the node: the remote podCIDR via the remote node.
        b_worker = standin.ip("kst-b-worker")
        routes = _sh(standin, "kst-a-worker", "ip route")
        assert f"10.171.1.0/24 via {b_worker}" in routes
        masq = _sh(standin, "kst-a-worker", "iptables -t nat -S KIND-MASQ-AGENT")
        assert masq.splitlines()[1].startswith("-A KIND-MASQ-AGENT -d 10.171.0.0/16") and "RETURN" in masq
        status = lab.status()
        assert status["runtime"] == "kind" and status["healthy"], status["problems"]
        node = status["clusters"][1]["nodes"][1]
        assert (node["name"], node["address"], node["podCIDR"]) == ("kst-b-worker", b_worker, "10.171.1.0/24")
        out = lab.exec("kst-a-worker/pod1", ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
        assert "10.161.1.2/32" in out
        assert "kst-a-worker" in lab.exec("kst-a-worker", ["hostname"]).stdout
    assert not standin.client.containers.list(all=True, filters={"label": "io.x-k8s.kind.cluster=kst-a"})


def test_plan_is_what_up_does(standin, no_leaks):
    """Every `docker exec` the plan prints ran in the node: compare the plan's interconnect
    routes with the routes found after up (with the discovered values substituted)."""
    plan = api.plan(SCENARIOS / "two-clusters.yaml", "kind")
    from kindscape.runtimes.kind.ops import Exec, PodCIDR
    routes = [op for op in plan.ops if isinstance(op, Exec) and op.argv[:3] == ("ip", "route", "replace")]
    assert len(routes) == 8
    with kindscape.up(SCENARIOS / "two-clusters.yaml", runtime="kind"):
        for op in routes:
            cidr = op.argv[3]
            assert isinstance(cidr, PodCIDR)
            cluster = standin.clusters[cidr.cluster]
            wanted = f"{cluster.cidrs[cidr.node]} via {standin.ip(cidr.node)}"
            assert wanted in _sh(standin, op.container, "ip route"), (op, wanted)


def test_hosts_and_multi_homed_nodes(standin, no_leaks):
    with kindscape.up(SCENARIOS / "multi-homed.yaml", runtime="kind") as lab:
        docker = standin.client
        vm2 = docker.containers.get("kst-homed-vm2")
        assert vm2.attrs["NetworkSettings"]["Networks"]["kst-net2"]["IPAddress"] == "172.31.241.100"
        for host in ("kst-homed-vm1", "kst-homed-vm2"):
            # Safety (not part of the runtime): without a default route no probe can leave.
            docker.containers.get(host).exec_run(["ip", "route", "del", "default"])
        worker = "kst-m-worker"
        assert "10.198.255.2/32" in _sh(standin, worker, "ip -o addr show dev lo")
        assert "10.197.0.0/24 via 172.31.241.1" in _sh(standin, worker, "ip route")
        assert "10.198.255.1 dev eth0 scope link" in _sh(standin, worker, "ip route")
        assert "--node-ip=10.198.255.2 " in _sh(standin, worker, "cat /var/lib/kubelet/kubeadm-flags.env")
        manifest = _sh(standin, "kst-m-control-plane", "cat /etc/kubernetes/manifests/kube-apiserver.yaml")
        assert "--advertise-address=10.198.255.1\n" in manifest
        assert _sh(standin, worker, "cat /var/log/systemctl.log") == "start kubelet\nrestart kubelet\n"
        eth1 = _sh(standin, worker, "ip -o -4 addr show dev eth1")
        assert "172.31.241.3/24" in eth1  # docker network connect --ip, after the cluster exists
        host_routes = subprocess.run(["ip", "route", "show", "10.181.1.0/24"], capture_output=True,
                                     text=True).stdout
        assert f"via {standin.ip(worker)}" in host_routes
        report = lab.check()
        assert report.ok, json.dumps(report.failures, indent=1)
        status = lab.status()
        nodes = status["clusters"][0]["nodes"]
        assert [n["address"] for n in nodes] == ["10.198.255.1", "10.198.255.2"]
        assert nodes[1]["addresses"]["kst-net2"] == "172.31.241.3"
    assert subprocess.run(["ip", "route", "show", "10.181.1.0/24"], capture_output=True,
                          text=True).stdout == ""
