"""The kind runtime refuses clearly, before creating anything, what cannot work; and
`down` removes everything even without its state file (Docker holds the record)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kindscape
from kindscape import state as statefile
from kindscape.runtimes.kind.preflight import check_docker_state
from kindscape.runtimes.kind.runtime import KindRuntime
from tests.docker.conftest import KIND_NETWORK

SCENARIOS = Path(__file__).parent / "scenarios"
TWO = SCENARIOS / "two-clusters.yaml"


def _nothing_of(client, scenario: str) -> bool:
    labelled = {"label": f"io.kindscape.scenario={scenario}"}
    return not (client.containers.list(all=True, filters=labelled) or client.networks.list(filters=labelled)
                or client.volumes.list(filters=labelled)
                or client.containers.list(all=True, filters={"label": "io.x-k8s.kind.cluster=kst-a"}))


def test_stopped_docker_daemon_is_a_clear_error(standin, monkeypatch, no_leaks):
    with monkeypatch.context() as patch:  # undone before the leak check looks at Docker
        patch.setenv("DOCKER_HOST", "unix:///run/kindscape-no-such-docker.sock")
        with pytest.raises(kindscape.KindscapeError, match=r"cannot reach the Docker daemon at DOCKER_HOST "
                           r"\(unix:///run/kindscape-no-such-docker.sock\) .*start dockerd"):
            kindscape.up(TWO, runtime="kind")


def test_missing_kind_binary_is_a_clear_error(docker_client, monkeypatch, tmp_path, no_leaks):
    with monkeypatch.context() as patch:
        patch.setenv("PATH", str(tmp_path))  # no kind (nor kubectl) here
        with pytest.raises(kindscape.KindscapeError, match="kind not found on PATH: install kind"):
            KindRuntime().preflight(kindscape.load(TWO).topology)
    assert _nothing_of(docker_client, "kst-two")


def test_kind_network_with_another_subnet_is_refused(standin, docker_client, no_leaks):
    network = docker_client.networks.create(KIND_NETWORK, driver="bridge", labels={"io.kindscape.test": "1"},
                                            ipam=_ipam("172.31.242.0/24"))
    try:
        with pytest.raises(kindscape.KindscapeError) as caught:
            kindscape.up(TWO, runtime="kind")
        assert f"docker network {KIND_NETWORK} exists with subnet 172.31.242.0/24, but the scenario " \
               "declares 172.31.240.0/24" in str(caught.value)
        assert _nothing_of(docker_client, "kst-two")
    finally:
        network.remove()


def test_kind_network_with_the_declared_subnet_is_reused_not_a_clash(standin, docker_client, no_leaks):
    """Its bridge's route is Docker's (KIND's), not the machine's: nothing to refuse."""
    network = docker_client.networks.create(KIND_NETWORK, driver="bridge", labels={"io.kindscape.test": "1"},
                                            ipam=_ipam("172.31.240.0/24"))
    try:
        runtime = KindRuntime()
        check_docker_state(runtime.docker, kindscape.load(TWO).topology, runtime.settings)
    finally:
        network.remove()


def _a_machine_route(docker_client):
    """A route of this machine's own (not default, not Docker's): the LAN of eth0, say."""
    import ipaddress
    import json
    import subprocess
    docker = {ipaddress.ip_network(c["Subnet"]) for n in docker_client.networks.list()
              for c in (n.attrs.get("IPAM") or {}).get("Config") or [] if "Subnet" in c}
    routes = json.loads(subprocess.run(["ip", "-4", "-j", "route", "show", "table", "main"],
                                       capture_output=True, text=True, check=True).stdout)
    for route in routes:
        if route.get("dst", "default") != "default":
            network = ipaddress.ip_network(route["dst"], strict=False)
            if network not in docker and network.prefixlen <= 30:
                return network
    pytest.skip("this machine has no route of its own besides the default and Docker's")


def test_a_subnet_over_the_machines_own_routes_is_refused(standin, docker_client, tmp_path, no_leaks):
    route = _a_machine_route(docker_client)
    text = TWO.read_text().replace("    subnet: 172.31.240.0/24\n",
                                   f"    subnet: 172.31.240.0/24\n  - name: lan\n    subnet: {route}\n")
    clash = tmp_path / "clash.yaml"
    clash.write_text(text)
    with pytest.raises(kindscape.KindscapeError) as caught:
        kindscape.up(clash, runtime="kind")
    assert f"network lan {route} overlaps this machine's route to {route}" in str(caught.value)
    assert _nothing_of(docker_client, "kst-two")


def test_existing_cluster_of_the_same_name_is_refused(standin, docker_client, no_leaks):
    from kindscape.runtimes.kind.ops import CreateCluster
    standin.create(CreateCluster("kst-a", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"))
    try:
        with pytest.raises(kindscape.KindscapeError, match="a KIND cluster named kst-a already exists "
                           r"\(nodes kst-a-control-plane\)"):
            kindscape.up(TWO, runtime="kind")
        assert docker_client.containers.list(all=True, filters={"label": "io.x-k8s.kind.cluster=kst-b"}) == []
    finally:
        standin.delete("kst-a")
        standin.remove_network()


def test_down_without_state_file_finds_clusters_by_docker_record(standin, docker_client, no_leaks):
    lab = kindscape.up(SCENARIOS / "multi-homed.yaml", runtime="kind")
    worker = standin.ip("kst-m-worker")
    shutil.rmtree(statefile.scenario_dir("kst-homed"))
    removed = kindscape.down("kst-homed")
    assert "cluster kst-m" in removed and "container kst-homed-vm2" in removed
    assert "network kst-net2" in removed and "volume kindscape-kst-homed" in removed
    assert not docker_client.containers.list(all=True, filters={"label": "io.x-k8s.kind.cluster=kst-m"})
    assert f"route 10.181.1.0/24 via {worker}" in removed  # from Docker's record
    assert lab.state.processes  # up started the workload server...
    assert any(r.startswith("process ") for r in removed)  # ...found and stopped without the state


def test_failed_up_removes_what_it_made(standin, docker_client, monkeypatch, no_leaks):
    """A failure at the last step (the stand-in's kubectl apply of the probe pods fails),
    when clusters, hosts, networks, host routes and records exist: all of it goes."""
    from kindscape.errors import RuntimeFailure
    from tests.docker.standin import StandInKube

    def refuse(self, manifest):
        raise RuntimeFailure("kubectl on cluster kst-m failed: apply -f - (stand-in: refused)")
    monkeypatch.setattr(StandInKube, "apply", refuse)
    with pytest.raises(RuntimeFailure, match="stand-in: refused"):
        kindscape.up(SCENARIOS / "multi-homed.yaml", runtime="kind")
    assert _nothing_of(docker_client, "kst-homed")
    assert not docker_client.containers.list(all=True, filters={"label": "io.x-k8s.kind.cluster=kst-m"})


def _ipam(subnet: str):
    import docker
    return docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
