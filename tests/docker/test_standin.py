"""The stand-in itself is no kinder than what it replaces (standin.py): its kubelet reads
--node-ip only when restarted, its apiserver goes away after its manifest changes, its
kindnet keeps HOST_IP from its pod's start. Real dockerd, one small stand-in cluster."""

from __future__ import annotations

import time

import pytest

from kindscape.errors import CommandFailed
from kindscape.runtimes.kind.ops import CreateCluster
from tests.docker.standin_api import DOWN, LAG

CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {podSubnet: 10.231.0.0/16}
nodes: [{role: control-plane}, {role: worker}]
"""
MOVE = "sed -i -E 's/--node-ip=[^ \"]*/--node-ip={ip}/' /var/lib/kubelet/kubeadm-flags.env"


@pytest.fixture
def cluster(standin, no_leaks):
    standin.create(CreateCluster("kst-sa", CONFIG))
    try:
        yield standin.clusters["kst-sa"]
    finally:
        standin.delete("kst-sa")
        standin.remove_network()


def test_kubelet_reads_its_flags_on_restart_and_kindnet_keeps_host_ip(standin, cluster):
    worker, old = "kst-sa-worker", standin.ip("kst-sa-worker")
    standin.sh(worker, "ip addr add 10.232.0.2/32 dev lo\n" + MOVE.format(ip="10.232.0.2"))
    assert standin.internal_ips(worker) == [old]  # the file alone changes nothing
    standin.sh(worker, "systemctl restart kubelet")
    assert standin.internal_ips(worker) == ["10.232.0.2"]
    standin.sh("kst-sa-control-plane", "ip route replace 10.232.0.2/32 dev eth0 scope link")
    standin.reconcile(cluster)
    # kindnet on the worker takes its own node for a remote one: its own podCIDR via its
    # own new address (the kernel takes it, through lo)
    own = f"{cluster.cidrs[worker]} via 10.232.0.2 dev lo"
    assert own in standin.sh(worker, "ip route")
    assert f"{cluster.cidrs[worker]} via 10.232.0.2 dev eth0" in standin.sh("kst-sa-control-plane", "ip route")
    standin.restart_kindnet(cluster, worker)
    standin.sh(worker, f"ip route del {cluster.cidrs[worker]} via 10.232.0.2")
    standin.reconcile(cluster)  # its new pod knows its own node: the route stays away
    assert cluster.kindnet[worker].host_ip == "10.232.0.2" and own not in standin.sh(worker, "ip route")
    # a gateway the kernel refuses (another node's address, not on-link) crashes it
    standin.sh("kst-sa-control-plane", "ip route del 10.232.0.2/32")
    standin.sh("kst-sa-control-plane", f"ip route del {cluster.cidrs[worker]}")
    standin.reconcile(cluster)
    assert "Nexthop has invalid gateway" in cluster.kindnet["kst-sa-control-plane"].error


def test_apiserver_restarts_after_its_manifest_changes(standin, cluster):
    kube = standin.kube("kst-sa")
    old = standin.ip("kst-sa-control-plane")
    assert kube._call(["kubectl", "--context", "kind-kst-sa", "get", "--raw", "/readyz"], None, 5).stdout == "ok"
    standin.sh("kst-sa-control-plane", "sed -i -E 's/--advertise-address=[^ \"]*/--advertise-address=10.232.0.1/' "
               "/etc/kubernetes/manifests/kube-apiserver.yaml")
    time.sleep(LAG + 1)
    with pytest.raises(CommandFailed, match="connection to the server .* was refused"):
        kube._call(["kubectl", "--context", "kind-kst-sa", "get", "nodes", "-o", "json"], None, 5)
    assert cluster.apiserver["address"] == old
    start = time.monotonic()
    kube.await_apiserver("10.232.0.1")  # the product's wait, through its retries
    assert time.monotonic() - start <= DOWN + 2 and cluster.apiserver["address"] == "10.232.0.1"
