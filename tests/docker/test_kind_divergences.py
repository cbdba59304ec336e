"""Where real KIND and Docker differ from what the kind runtime once assumed: each test
reproduces one divergence on real dockerd with the stand-in (standin.py), which now
behaves as KIND, Docker, the kubelet, the API server and kindnet do. The numbers are
those of docs/kind-runtime.md's "Real KIND and Docker" list."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import pytest

import kindscape
from kindscape.errors import KindscapeError
from kindscape.runtimes.kind.docker_side import DockerSide
from kindscape.scenario.families import kind_ula_subnet
from tests.docker.conftest import KIND_NETWORK

SCENARIOS = Path(__file__).parent / "scenarios"


def _networks(client, container: str) -> dict:
    return client.containers.get(container).attrs["NetworkSettings"]["Networks"]


def test_1_hosts_on_kinds_own_network_get_docker_picked_addresses(standin, docker_client, no_leaks):
    """KIND makes `kind` with an IPv6 subnet only: Docker (before 29.0.4) refuses a fixed
    IPv4 address there, for `docker run --ip` and `docker network connect --ip` alike."""
    standin.ensure_network()  # `kind` exists, as KIND made it (KIND never removes it)
    with kindscape.up(SCENARIOS / "kind-hosts.yaml", runtime="kind") as lab:
        for host in ("kst-hosts-vm1", "kst-hosts-vm2"):
            assert _networks(docker_client, host)[KIND_NETWORK]["IPAddress"]
        report = lab.check()
        assert report.ok, json.dumps(report.failures, indent=1)
        vm1 = next(h for h in lab.topology.hosts if h.name == "vm1")  # the address Docker gave
        assert str(vm1.attachments[0].addresses[0]) == _networks(docker_client, "kst-hosts-vm1")[KIND_NETWORK]["IPAddress"]


@pytest.fixture
def dual(standin, docker_client, no_leaks):
    with kindscape.up(SCENARIOS / "dual-host.yaml", runtime="kind") as lab:
        yield lab


def test_2_a_dual_stack_host_keeps_its_ipv6_address(dual, docker_client):
    found = _networks(docker_client, "kst-dual-vm6")["kst-net6"]
    assert (found["IPAddress"], found["GlobalIPv6Address"]) == ("172.31.244.100", "fd00:31:244::64")


def test_8_a_kind_network_kindscape_makes_is_made_as_kind_makes_it(dual, docker_client):
    network = docker_client.networks.get(KIND_NETWORK).attrs
    bridge = docker_client.networks.get("bridge").attrs["Options"]
    assert network["EnableIPv6"]
    assert str(kind_ula_subnet(KIND_NETWORK)) in [c["Subnet"] for c in network["IPAM"]["Config"]]
    assert network["Options"]["com.docker.network.bridge.enable_ip_masquerade"] == "true"
    assert network["Options"].get("com.docker.network.driver.mtu") == bridge["com.docker.network.driver.mtu"]
    # IPv4-only file: the real topology keeps the file's families (divergence 9)
    kind = next(n for n in dual.topology.networks if n.name == "kind")
    assert [str(s) for s in kind.subnets] == ["172.31.240.0/24"] and len(kind.gateways) == 1


def test_3_up_waits_for_the_apiserver_its_manifest_restarted(standin, no_leaks):
    """A moved control plane's apiserver restarts (its static pod manifest changed):
    kubectl is refused for a while, and up must not fail on that."""
    with kindscape.up(SCENARIOS / "multi-homed.yaml", runtime="kind") as lab:
        cluster = standin.clusters["kst-m"]
        assert cluster.apiserver["address"] == "10.198.255.1"  # the new one is serving
        # divergence 4: kindnet on each moved node knows its own node again
        assert {n: a.host_ip for n, a in cluster.kindnet.items()} == {
            "kst-m-control-plane": "10.198.255.1", "kst-m-worker": "10.198.255.2"}
        assert not any(a.error for a in cluster.kindnet.values())
        for node in cluster.nodes:  # nor the route its old pod made: its own podCIDR via itself
            assert standin.sh(node, f"ip route show {cluster.cidrs[node]}") == ""
        # divergence 7: kube-proxy and CoreDNS rolled out before the probe pods were applied
        calls = [" ".join(c) for c in cluster.calls]
        rollouts = [i for i, c in enumerate(calls) if "rollout status daemonset/kube-proxy" in c or
                    "rollout status deployment/coredns" in c]
        assert len(rollouts) == 2 and max(rollouts) < calls.index("apply -f -")
        assert lab.check().ok


def test_5_the_default_route_stays_on_kind(standin, no_leaks, caplog):
    """Docker moves the default route to the connected network whose name sorts first."""
    caplog.set_level(logging.DEBUG, logger="kindscape.run")  # what `-v` shows
    with kindscape.up(SCENARIOS / "backbone.yaml", runtime="kind") as lab:
        logged = [r.getMessage() for r in caplog.records if r.name == "kindscape.run"]
        assert any(re.fullmatch(r"run: docker network connect --ip 172\.31\.246\.3 kst-backbone kst-bb-worker "
                                r"\(\d+\.\d{3} s\)", line) for line in logged), logged
        assert any(re.fullmatch(r"run: docker exec kst-bb-worker ip route replace default via \S+ dev eth0 "
                                r"\(\d+\.\d{3} s\)", line) for line in logged), logged
        for node in ("kst-bb-control-plane", "kst-bb-worker"):
            gateway = _networks(standin.client, node)[KIND_NETWORK]["Gateway"]
            assert standin.sh(node, "ip route show default").split()[:5] == \
                ["default", "via", gateway, "dev", "eth0"]
        assert lab.check().ok


def _context(tmp_path: Path, name: str, host: str) -> None:
    done = subprocess.run(["docker", "context", "create", name, "--docker", f"host={host}"],
                          capture_output=True, text=True, env={"DOCKER_CONFIG": str(tmp_path), "PATH": "/usr/bin:/usr/local/bin:/bin"})
    assert done.returncode == 0, done.stderr


def test_11_kindscape_talks_to_the_daemon_of_dockers_current_context(docker_client, tmp_path, monkeypatch):
    """kind runs the docker CLI, which follows the current `docker context`: so must we."""
    if subprocess.run(["docker", "context", "--help"], capture_output=True).returncode != 0:
        pytest.skip("this docker CLI has no contexts")
    here = tmp_path / "here.sock"
    here.symlink_to("/var/run/docker.sock")
    _context(tmp_path, "ks-here", f"unix://{here}")
    _context(tmp_path, "ks-nowhere", f"unix://{tmp_path}/nowhere.sock")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "ks-nowhere"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    with pytest.raises(KindscapeError, match=rf"docker context ks-nowhere \(unix://{tmp_path}/nowhere.sock\)"):
        DockerSide.connect()
    monkeypatch.setenv("DOCKER_CONTEXT", "ks-here")  # as the docker CLI, the variable wins
    side = DockerSide.connect()
    side.client.ping()
    assert side.endpoint == f"unix://{here}"
