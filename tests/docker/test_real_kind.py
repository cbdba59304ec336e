"""The kind runtime on real KIND: runs where the `kind` binary, kubectl and a node image
are available (see docs/kind-runtime.md, "Tests of the kind runtime"); skipped elsewhere, saying why.
These create real clusters: minutes, not seconds."""

from __future__ import annotations

import os
import shutil

import pytest

import kindscape
from tests.conftest import EXAMPLES
from tests.labs import netns_of

pytestmark = pytest.mark.kind


@pytest.fixture
def real_kind(docker_client):
    missing = [tool for tool in ("kind", "kubectl") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} on PATH and a KIND node image "
                    "(this machine has neither; see docs/kind-runtime.md)")
    if os.environ.get("KINDSCAPE_REAL_KIND") != "1":
        pytest.skip("creates real KIND clusters: set KINDSCAPE_REAL_KIND=1 to run")


def test_page_example_on_real_kind(real_kind):
    with kindscape.up(EXAMPLES / "multi-cluster.yaml", runtime="kind") as lab:
        report = lab.check(timeout=3.0)
        assert report.ok, report.failures
        assert lab.status()["healthy"]


def test_isolated_example_on_real_kind(real_kind):
    with kindscape.up(EXAMPLES / "multi-cluster-isolated.yaml", runtime="kind") as lab:
        assert lab.check(timeout=3.0).ok


def test_services_example_through_real_kube_proxy_and_coredns(real_kind):
    """The five Service types as real objects: ClusterIP, NodePort and Headless checked
    through kube-proxy's rules; names through the cluster's CoreDNS. The LoadBalancer
    needs cloud-provider-kind running on this machine (else: no address, said in status)."""
    with kindscape.up(EXAMPLES / "services.yaml", runtime="kind") as lab:
        report = lab.check(timeout=3.0)
        status = lab.status()
        lb = next(s for s in status["clusters"][0]["services"] if s["name"] == "web-lb")
        failures = [f for f in report.failures if lb["loadBalancerIP"] or f.get("to") != "cluster-a/lb/web-lb"]
        assert not failures, failures
        web = next(s for s in status["clusters"][0]["services"] if s["name"] == "web")
        assert web["clusterIP"] == "10.115.0.20"  # requested: the netns runtime's address
        if shutil.which("nslookup"):
            answer = lab.exec("cluster-a-control-plane/pod1", ["nslookup", "web.default.svc.cluster.local"]).stdout
            assert "10.115.0.20" in answer


def test_rate_limit_and_partition_on_real_kind(real_kind):
    """impair/partition/heal on real nodes: a TCP stream between two clusters' pods holds
    the rate; a partition cuts them apart and heal restores them."""
    from kindscape.runtimes.kind.facts import netns_path
    from tests.integration.throughput import stream_bits_per_second
    with kindscape.up(EXAMPLES / "multi-cluster.yaml", runtime="kind") as lab:
        lab.impair("cluster-a", "cluster-b", rate="20mbit")
        paths = {e: netns_path(lab.runtime.docker, netns_of(lab, e))
                 for e in ("cluster-a-worker/pod1", "cluster-b-worker/pod1")}
        target = lab.topology.node("cluster-b-worker").pods[0].addresses[0]
        measured = stream_bits_per_second(paths["cluster-a-worker/pod1"], paths["cluster-b-worker/pod1"], str(target))
        assert 0.8 * 20e6 <= measured <= 1.03 * 20e6
        lab.partition("cluster-a", "cluster-b")
        cut = lab.check(all=True, timeout=0.5)
        assert not any(r.reachable for r in cut.results
                       if r.task.source.startswith("cluster-a") and r.task.target.startswith("cluster-b"))
        lab.heal("cluster-a", "cluster-b")
        assert lab.check(timeout=3.0).ok


def test_moved_nodes_and_hosts_on_kinds_network_on_real_kind(real_kind):
    """What the stand-in imitates, on the real thing (docs/kind-runtime.md's divergences):
    hosts on KIND's own `kind` (Docker picks their IPv4 addresses), the apiserver restarted
    with its new address, kindnet's pods replaced on the moved nodes (HOST_IP is their new
    InternalIP, no route of their own podCIDR via themselves), default routes on eth0."""
    import json
    import re
    import subprocess
    with kindscape.up(EXAMPLES / "hosts-and-multihome.yaml", runtime="kind") as lab:
        report = lab.check(timeout=3.0)
        assert report.ok, report.failures
        pods = json.loads(subprocess.run(
            ["kubectl", "--context", "kind-cluster-b", "-n", "kube-system", "get", "pods", "-l", "app=kindnet",
             "-o", "json"], capture_output=True, text=True, check=True).stdout)["items"]
        for node in lab.topology.cluster("cluster-b").nodes:
            internal = str(node.internal_ips[0])
            assert [p["status"]["hostIP"] for p in pods if p["spec"]["nodeName"] == node.name] == [internal]
            own = lab.exec(node.name, ["ip", "route", "show", str(node.pod_cidrs[0])]).stdout
            assert "via" not in own, own
            assert re.search(r"\bdev eth0\b", lab.exec(node.name, ["ip", "route", "show", "default"]).stdout)
