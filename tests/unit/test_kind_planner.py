"""The kind planner (pure): what it makes of a topology, without Docker."""

from __future__ import annotations

import yaml

import kindscape
from kindscape.runtimes.kind import ops
from kindscape.runtimes.kind.planner import Settings, plan
from kindscape.runtimes.kind.waits import AwaitApiserver, AwaitNodeAddress, AwaitRollouts, RestartKindnet
from kindscape.scenario.families import kind_ula_subnet
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
    # -w: kube-proxy and kindnet share the xtables lock (divergence 6)
    assert ("iptables", "-w", "-t", "nat", "-I", "KIND-MASQ-AGENT", "1", "-d", "10.220.0.0/16") == masq[0][:9]


def test_multi_homing_connects_after_creation_with_static_addresses():
    steps = _plan(HOMED)
    kinds = [type(op).__name__ for op in steps.ops]
    assert kinds.index("CreateCluster") < kinds.index("Connect")
    assert steps.of(ops.Connect)[0] == ops.Connect("my-net2", "cluster-a-control-plane", ("172.16.17.2",))
    hosts = {op.host: op for op in steps.of(ops.RunHost)}
    assert hosts["vm1"].ips == () and hosts["vm2"].ips == ("172.16.17.100",)  # Docker picks vm1's on kind


def test_moved_apiserver_gets_its_certificate_san():
    config = yaml.safe_load(_plan(HOMED).of(ops.CreateCluster)[0].config)
    patches = config["kubeadmConfigPatchesJSON6902"]
    assert {p["version"] for p in patches} == {"v1beta2", "v1beta3", "v1beta4"}
    assert yaml.safe_load(patches[0]["patch"]) == [{"op": "add", "path": "/apiServer/certSANs/-",
                                                    "value": "1.1.1.1"}]


def test_node_address_edits_kubelet_and_apiserver_then_restarts():
    steps = [op for op in _plan(HOMED).ops if op.phase == ops.Phase.NODE_ADDRESS]
    execs = [op for op in steps if isinstance(op, ops.Exec)][:5]
    assert [op.container for op in execs] == ["cluster-a-control-plane"] * 3 + ["cluster-a-worker"] * 2
    assert execs[0].argv[-1] == ops.KUBELET_FLAGS and "--node-ip=1.1.1.1/" in execs[0].argv[3]
    assert execs[1].argv[-1] == ops.APISERVER_MANIFEST
    assert execs[2].argv == ("systemctl", "restart", "kubelet")
    # then (divergences 3, 4): the restarted apiserver, the kubelets' new addresses, kindnet's new pods
    waits, cleanup = steps[len(execs):-2], steps[-2:]
    assert waits == [AwaitApiserver("cluster-a", "1.1.1.1"),
                     AwaitNodeAddress("cluster-a", "cluster-a-control-plane", ("1.1.1.1",)),
                     AwaitNodeAddress("cluster-a", "cluster-a-worker", ("1.1.1.2",)),
                     RestartKindnet("cluster-a", ("cluster-a-control-plane", "cluster-a-worker"))]
    assert "delete pod -l app=kindnet --field-selector spec.nodeName=cluster-a-worker" in waits[-1].shell()
    # the old kindnet pod may have routed its own podCIDR via its own new address meanwhile
    assert cleanup[1].argv == ("ip", "route", "del", ops.PodCIDR("cluster-a", "cluster-a-worker", 0), "via", "1.1.1.2")
    assert cleanup[1].tolerate == "No such process"


def test_kind_network_made_by_kindscape_has_kinds_ula_and_mtu():
    """Divergence 8: always KIND's ULA (derived from the docker network's name) and the
    default bridge's MTU, also for IPv4-only clusters."""
    made = _plan(HOMED, kind_network="kst-kind").of(ops.CreateNetwork)
    kind = next(op for op in made if op.network == "kind")
    assert kind.reuse and kind.ipv6_subnet == str(kind_ula_subnet("kst-kind"))
    assert 'MTU=$(docker network inspect bridge' in kind.shell() and "driver.mtu=\"$MTU\"" in kind.shell()
    assert "com.docker.network.driver.mtu=1400" in kind.argv(1400)
    assert not any("mtu" in arg for arg in kind.argv(0))


def test_addresses_on_kind_are_dockers_but_a_given_ipv6_and_other_networks_are_asked_for():
    """Divergences 1 and 2: no fixed IPv4 address on `kind`; both families elsewhere."""
    steps = _plan(EXAMPLES / "dual-stack.yaml")
    vm1 = steps.of(ops.RunHost)[0]
    assert vm1.ips == ("fc00:f853:ccd:e793::c8",) and "172.18.0.200 not requested" in vm1.comment
    assert "--ip6 fc00:f853:ccd:e793::c8" in vm1.shell() and "--ip " not in vm1.shell()
    routes = [op for op in steps.of(ops.Exec) if op.container == "dual-stack-vm1"]
    assert routes and all("172.18.0.200" not in map(str, op.argv) for op in routes)
    hm = _plan(EXAMPLES / "hosts-and-multihome.yaml")
    vm2 = [op for op in hm.of(ops.Connect) if op.container == "hosts-multihome-vm2"]
    assert vm2 == [ops.Connect("kind", "hosts-multihome-vm2", (), ops.Phase.HOSTS)]


def test_multi_homed_containers_keep_their_default_route_on_their_first_network():
    """Divergence 5: Docker moves it to the network whose name sorts first."""
    steps = _plan(EXAMPLES / "hosts-and-multihome.yaml")
    defaults = [op for op in steps.of(ops.Exec) if op.argv[:3] == ("ip", "route", "replace") and op.argv[3] == "default"]
    assert [op.container for op in defaults] == ["cluster-a-control-plane", "cluster-a-worker", "cluster-b-control-plane",
                                                 "cluster-b-worker", "hosts-multihome-vm2"]
    assert defaults[0].argv[4:] == ("via", ops.ContainerGateway("cluster-a-control-plane", "kind", 4), "dev", "eth0")
    assert defaults[-1].argv[5] == ops.ContainerGateway("hosts-multihome-vm2", "backbone", 4)


def test_up_waits_for_kube_proxy_and_coredns_before_the_probe_pods():
    """Divergence 7; no kube-proxy to wait for with kubeProxyMode none."""
    steps = _plan(EXAMPLES / "multi-cluster.yaml")
    pods = [op for op in steps.ops if op.phase == ops.Phase.PODS]
    assert isinstance(pods[0], AwaitRollouts) and isinstance(pods[1], ops.ProbePods)
    assert pods[0].workloads == ("daemonset/kube-proxy", "deployment/coredns")


def test_probe_image_setting_replaces_the_sandbox_image():
    pods = _plan(EXAMPLES / "multi-cluster.yaml", probe_image="registry.example/pause:1").of(ops.ProbePods)
    assert pods[0].image == "registry.example/pause:1"
    assert "image: registry.example/pause:1" in pods[0].manifest(pods[0].image)


def test_no_kube_proxy_to_wait_for_without_kube_proxy():
    text = (EXAMPLES / "multi-cluster.yaml").read_text().replace(
        'serviceSubnet: "10.115.0.0/16"', 'serviceSubnet: "10.115.0.0/16"\n        kubeProxyMode: none')
    assert "kubeProxyMode: none" in text
    rollouts = plan(kindscape.loads(text).topology, Settings()).of(AwaitRollouts)
    assert [r.workloads for r in rollouts] == [("deployment/coredns",),
                                               ("daemonset/kube-proxy", "deployment/coredns")]
