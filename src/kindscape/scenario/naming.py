"""Names as KIND and kindscape give them, and the rules names must follow."""

from __future__ import annotations

import re

from ..topology import KIND_NETWORK  # noqa: F401  (a name rule too; the runtimes take it from topology)

SCENARIO_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SCENARIO_NAME_MAX = 20
# Docker's rule for network names, kept short enough to show in interface names.
NETWORK_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
NETWORK_NAME_MAX = 64
HOST_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
HOST_NAME_MAX = 63
# The longest KIND suffix is "-control-plane" plus a number; node names are hostnames.
CLUSTER_NAME_MAX = 45
RESERVED_NETWORK_NAMES = ("loopback", "primary", "host", "none", "bridge")
RESERVED_ENDPOINTS = ("docker-host",)
# A network's name is its bridge's altname in docker-host, so it must not be the name of
# another interface there: lo, the veth ends (veth<N>) or a bridge (br-<network>).
DOCKER_HOST_IFNAME_RE = re.compile(r"^(lo|veth[0-9]+|br-.*)$")


def kind_node_names(cluster: str, roles: tuple[str, ...]) -> list[str]:
    """KIND's node names, in config order: -control-plane, -control-plane2, -worker, -worker2…"""
    counts: dict[str, int] = {}
    names = []
    for role in roles:
        counts[role] = counts.get(role, 0) + 1
        suffix = "" if counts[role] == 1 else str(counts[role])
        names.append(f"{cluster}-{role}{suffix}")
    return names


def pod_name(node: str, index: int) -> str:
    """The endpoint name of the index-th (1-based) emulated pod of a node."""
    return f"{node}/pod{index}"


def bridge_name(network: str, index: int) -> str:
    """The bridge of a network inside docker-host: readable when it fits in 15 bytes."""
    name = f"br-{network}"
    return name if len(name) <= 15 and network.isascii() else f"br-net{index}"
