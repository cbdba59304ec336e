"""The kind runtime's Services and links, planned (pure): the Kubernetes manifests, the
probe pods' labels and listeners, the link operations in the containers' namespaces."""

from __future__ import annotations

import os

import pytest
import yaml

import kindscape
from kindscape.errors import KernelFeatureMissing
from kindscape.plan.link_faults import LinkRules, Shaping
from kindscape.runtimes.kind import container_links as links, ops, podexec, render
from kindscape.runtimes.kind import service_manifests as services
from kindscape.runtimes.kind.planner import Settings, plan
from kindscape.scenario.load import loads
from kindscape.topology import Impairment
from tests.conftest import EXAMPLES

SIDES = EXAMPLES.parent / "tests" / "golden" / "scenarios" / "impairment-sides.yaml"
DUAL = """
apiVersion: kindscape/v1alpha1
kind: Scenario
name: dual-svc
clusters:
  - name: c
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      networking: {ipFamily: dual, podSubnet: "fd00:10:20::/56,10.20.0.0/16",
                   serviceSubnet: "fd00:10:25::/112,10.25.0.0/16"}
      nodes: [{role: control-plane}, {role: worker}]
services:
  - {cluster: c, name: web, port: 80, targetPort: 8080}
  - {cluster: c, name: db, namespace: data, type: Headless, port: 5432, backends: "c-worker"}
  - {cluster: c, name: metrics, namespace: kube-system, port: 9100}
"""


def _plan(path_or_text):
    topology = kindscape.load(path_or_text).topology if not isinstance(path_or_text, str) \
        else loads(path_or_text).topology
    return plan(topology, Settings())


def _docs(op: services.ApplyServices, value=lambda v: v if isinstance(v, str) else f"<{v.pod}:{v.index}>"):
    return list(yaml.safe_load_all(op.manifest(value)))


def test_every_service_type_becomes_its_kubernetes_object():
    steps = _plan(EXAMPLES / "services.yaml")
    (apply,) = steps.of(services.ApplyServices)
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _docs(apply)}
    web = docs[("Service", "web")]["spec"]
    assert web == {"type": "ClusterIP", "clusterIP": "10.115.0.20", "ipFamilyPolicy": "SingleStack",
                   "ipFamilies": ["IPv4"], "selector": {"svc.kindscape.io/web": "backend"},
                   "ports": [{"protocol": "TCP", "port": 80, "targetPort": 8080}]}
    assert docs[("Service", "web-np")]["spec"]["ports"][0]["nodePort"] == 30080
    lb = docs[("Service", "web-lb")]["spec"]
    assert lb["type"] == "LoadBalancer" and "loadBalancerIP" not in lb  # Kubernetes' to give
    db = docs[("Service", "db")]
    assert db["metadata"]["namespace"] == "data" and db["spec"]["clusterIP"] == "None"
    assert "selector" not in db["spec"]  # the pods live in `default`: EndpointSlices instead
    assert docs[("Service", "upstream")]["spec"]["type"] == "ExternalName"
    assert docs[("Namespace", "data")]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kindscape"}
    slice_ = docs[("EndpointSlice", "db-kindscape-ipv4")]
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "db"
    assert slice_["ports"] == [{"name": "", "protocol": "TCP", "port": 8080}]
    assert [e["addresses"] for e in slice_["endpoints"]] == [["<ks-cluster-a-worker-pod1:0>"],
                                                             ["<ks-cluster-a-worker-pod2:0>"]]


def test_pod_addresses_are_looked_up_once_the_pods_exist():
    steps = _plan(EXAMPLES / "services.yaml")
    kinds = [(type(op).__name__, op.phase) for op in steps.ops]
    found = [op.ref for op in steps.of(ops.Discover) if isinstance(op.ref, ops.PodIP)]
    assert found == [ops.PodIP("cluster-a", "default", "ks-cluster-a-worker-pod1", 0),
                     ops.PodIP("cluster-a", "default", "ks-cluster-a-worker-pod2", 0)]
    assert kinds.index(("ProbePods", ops.Phase.PODS)) < kinds.index(("Discover", ops.Phase.SERVICES)) \
        < kinds.index(("ApplyServices", ops.Phase.SERVICES))
    shell = steps.of(services.ApplyServices)[0].shell()
    assert "- ${POD_IP_KS_CLUSTER_A_WORKER_POD1}\n" in shell and shell.startswith(
        "kubectl --context kind-cluster-a apply -f - <<EOF\n")


def test_probe_pods_carry_their_services_labels_and_listen_on_their_target_ports():
    steps = _plan(EXAMPLES / "services.yaml")
    (pods,) = steps.of(ops.ProbePods)
    labels = {p.endpoint: dict(p.labels) for p in pods.pods}
    assert labels["cluster-a-worker2/pod1"] == {"svc.kindscape.io/web": "backend",
                                                "svc.kindscape.io/web-np": "backend",
                                                "svc.kindscape.io/web-lb": "backend"}
    assert "svc.kindscape.io/web" not in labels["cluster-a-control-plane/pod1"]
    manifest = yaml.safe_load_all(pods.manifest("pause"))
    assert any(d["metadata"]["labels"].get("svc.kindscape.io/web-lb") for d in manifest)
    (workloads,) = steps.of(ops.StartWorkloads)
    ports = {item.endpoint: item.ports for item in workloads.listeners}
    assert ports["cluster-a-worker2/pod2"] == (8080, 9376)
    assert ports["cluster-a-worker/pod1"] == (8080,)  # db's port is 8080 too
    assert ports["cluster-a-control-plane"] == (8080,)


def test_dual_stack_services_request_both_families_in_the_clusters_order():
    steps = _plan(DUAL)
    (apply,) = steps.of(services.ApplyServices)
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _docs(apply)}
    web = docs[("Service", "web")]["spec"]
    assert web["ipFamilies"] == ["IPv6", "IPv4"] and web["ipFamilyPolicy"] == "RequireDualStack"
    assert web["clusterIPs"] == ["fd00:10:25::14", "10.25.0.20"] and web["clusterIP"] == "fd00:10:25::14"
    db = docs[("Service", "db")]["spec"]
    assert db["clusterIP"] == "None" and db["ipFamilyPolicy"] == "RequireDualStack"
    assert docs[("EndpointSlice", "db-kindscape-ipv6")]["endpoints"][0]["addresses"] == ["<ks-c-worker-pod1:0>"]
    assert docs[("EndpointSlice", "db-kindscape-ipv4")]["endpoints"][0]["addresses"] == ["<ks-c-worker-pod1:1>"]
    # A namespace Kubernetes has already is used as it is, never re-applied with our label.
    assert [name for kind, name in docs if kind == "Namespace"] == ["data"]
    assert docs[("Service", "metrics")]["metadata"]["namespace"] == "kube-system"


def test_links_are_planned_in_the_containers_namespaces():
    steps = _plan(SIDES)
    (impair,) = steps.of(links.ImpairLinks)
    written = impair.as_written()
    spaces = {op.ns for op in written}
    assert "container:east-worker" in spaces and "container:sides-vm1" in spaces and "host" in spaces
    shaped = {op.ns: op for op in written if isinstance(op, Shaping)}
    assert shaped["container:east-worker"].dev == "eth0"
    # The network side (wan - west): at the Docker host's ends of the west nodes' eth1.
    host = [op for op in written if op.ns == "host"]
    assert {op.dev for op in host if isinstance(op, Shaping)} <= {"$VETH_WEST_CONTROL_PLANE_ETH1",
                                                                  "$VETH_WEST_WORKER_ETH1"}
    renamed = written  # the plan names the Docker host's tables for the scenario
    tables = {op.table for op in renamed if isinstance(op, LinkRules) and op.ns == "host"}
    assert tables == {"kindscape-impair-sides"}
    assert all(op.text.startswith("table netdev kindscape-impair-sides {") for op in renamed
               if isinstance(op, LinkRules) and op.ns == "host")
    shell = render.script(steps)
    assert "VETH_WEST_WORKER_ETH1=$(ip -o link | awk" in shell
    assert "nsenter --net=/proc/$(docker inspect -f '{{.State.Pid}}' east-worker)/ns/net tc -batch - <<EOF" in shell


def test_scenarios_without_impairments_plan_no_links():
    assert not _plan(EXAMPLES / "multi-cluster.yaml").of(links.ImpairLinks)


@pytest.mark.skipif(os.geteuid() != 0, reason="the kernel probe needs root (unshare --net)")
def test_delay_without_netem_is_refused_by_the_kind_runtime_too():
    from kindscape.runtimes.kind.runtime import KindRuntime
    from kindscape.linux import features as kernel
    if kernel.available("netem"):
        pytest.skip("this kernel has netem: nothing to refuse")
    with pytest.raises(KernelFeatureMissing, match=r"impairments\[0\]: delay needs the kernel's netem qdisc"):
        KindRuntime(kind=object()).check_links([("impairments[0]", Impairment(("a", "b"), delay=10_000))])
    KindRuntime(kind=object()).check_links([("partition a b", None)])  # the egress hook is here


def test_podexec_needs_its_arguments(capsys):
    assert podexec.main(["/proc/self/ns/net"]) == 2
    assert "usage:" in capsys.readouterr().err
    argv = podexec.argv("/proc/1/ns/net", "/run/x/resolv.conf", ["nslookup", "web"])
    assert argv[1:] == ["-m", "kindscape.runtimes.kind.podexec", "/proc/1/ns/net", "/run/x/resolv.conf",
                        "--", "nslookup", "web"]
