"""The leak check sees a route through a Docker bridge (what the kind runtime's dockerHost
routes are), while Docker's own bridge routes, made and removed with its networks, stay
out of the comparison."""

from __future__ import annotations

import subprocess

from tests.docker.images import TEST_LABEL
from tests.machine import snapshot


def test_a_route_through_a_docker_bridge_is_seen_dockers_own_are_not(docker_client):
    import docker
    before = snapshot()
    network = docker_client.networks.create(
        "kst-leak", driver="bridge", labels={TEST_LABEL: "1"},
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="172.31.247.0/24")]))
    try:
        bridge_only = snapshot().diff(before)
        assert "routes" not in bridge_only  # Docker's connected route of its new bridge
        subprocess.run(["ip", "route", "add", "10.251.0.0/24", "via", "172.31.247.2"], check=True)
        try:
            new = snapshot().diff(before)["routes"]["new"]
            assert [line for line in new if line.startswith("10.251.0.0/24 via 172.31.247.2 dev br-")], new
        finally:
            subprocess.run(["ip", "route", "del", "10.251.0.0/24"], check=True)
    finally:
        network.remove()
    assert snapshot().diff(before) == {}
