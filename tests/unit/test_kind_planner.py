"""The kind planner (pure): what it makes of a topology, without Docker."""

from __future__ import annotations

import yaml

import kindscape
from kindscape.runtimes.kind import ops
from kindscape.runtimes.kind.planner import Settings, plan
from tests.conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden" / "scenarios"

HOMED = EXAMPLES.parent / "tests" / "golden" / "scenarios" / "multi-homed.yaml"


def _plan(path, **settings):
    return plan(kindscape.load(path).topology, Settings(**settings))


def test_networks_are_created_with_the_topologys_ipv6_subnets():
    # `kind` gets KIND's ULA (families.py derives it, as KIND's network.go); a network the
    # file gives only an IPv4 subnet gets none, as the netns runtime builds it.
    created = {op.network: op for op in _plan(GOLDEN / "impairment-sides.yaml").of(ops.CreateNetwork)}
    assert created["kind"].ipv6_subnet == "fc00:f853:ccd:e793::/64"
    assert created["wan"].ipv6_subnet == ""


def test_undeclared_kind_network_is_left_to_kind():
    steps = _plan(EXAMPLES / "multi-cluster.yaml")
    assert not steps.of(ops.CreateNetwork)
    assert [op.cluster for op in steps.of(ops.CreateCluster)] == ["cluster-a", "cluster-b"]


def test_interconnect_uses_discovered_values_and_masquerade_exceptions():
    steps = _plan(EXAMPLES / "multi-cluster.yaml", kind_network="other-kind")
    routes = [op for op in steps.of(ops.Exec) if op.phase == ops.Phase.ROUTES]
    assert routes[0].argv == ("ip", "route", "replace", ops.PodCIDR("cluster-b", "cluster-b-control-plane", 0),
                              "via", ops.ContainerIP("cluster-b-control-plane", "other-kind", 4))
    discovered = {op.ref for op in steps.of(ops.Discover)}
    assert {r for op in routes for r in op.argv if not isinstance(r, str)} <= discovered
    masq = [op.argv for op in steps.of(ops.Exec) if op.phase == ops.Phase.MASQUERADE and "-I" in op.argv]
    assert ("iptables", "-t", "nat", "-I", "KIND-MASQ-AGENT", "1", "-d", "10.220.0.0/16") == masq[0][:8]


def test_multi_homing_connects_after_creation_with_static_addresses():
    steps = _plan(HOMED)
    kinds = [type(op).__name__ for op in steps.ops]
    assert kinds.index("CreateCluster") < kinds.index("Connect")
    assert steps.of(ops.Connect)[0] == ops.Connect("my-net2", "cluster-a-control-plane", "172.16.17.2")
    hosts = {op.host: op for op in steps.of(ops.RunHost)}
    assert hosts["vm1"].ip == "" and hosts["vm2"].ip == "172.16.17.100"  # Docker picks vm1's on kind


def test_moved_apiserver_gets_its_certificate_san():
    config = yaml.safe_load(_plan(HOMED).of(ops.CreateCluster)[0].config)
    patches = config["kubeadmConfigPatchesJSON6902"]
    assert {p["version"] for p in patches} == {"v1beta2", "v1beta3", "v1beta4"}
    assert yaml.safe_load(patches[0]["patch"]) == [{"op": "add", "path": "/apiServer/certSANs/-",
                                                    "value": "1.1.1.1"}]


def test_node_address_edits_kubelet_and_apiserver_then_restarts():
    execs = [op for op in _plan(HOMED).of(ops.Exec) if op.phase == ops.Phase.NODE_ADDRESS]
    assert [op.container for op in execs] == ["cluster-a-control-plane"] * 3 + ["cluster-a-worker"] * 2
    assert execs[0].argv[-1] == ops.KUBELET_FLAGS and "--node-ip=1.1.1.1/" in execs[0].argv[3]
    assert execs[1].argv[-1] == ops.APISERVER_MANIFEST
    assert execs[2].argv == ("systemctl", "restart", "kubelet")


def test_probe_image_setting_replaces_the_sandbox_image():
    pods = _plan(EXAMPLES / "multi-cluster.yaml", probe_image="registry.example/pause:1").of(ops.ProbePods)
    assert pods[0].image == "registry.example/pause:1"
    assert "image: registry.example/pause:1" in pods[0].manifest(pods[0].image)
