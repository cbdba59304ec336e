"""Scenario values that reach commands, files and manifests run as root, refused here
when the rest of validation would let them through (the injection review: see
docs/untrusted-input.md for every place and what guards it).

- A cluster name becomes node names: hostnames, Docker container names and arguments
  of `docker exec`/`kind --name`. KIND's own rule (^[a-z0-9.-]+$) lets `-x` through,
  which `docker exec -x-control-plane` would read as an option.
- `networking.dnsSearch` is written into the nodes' resolv.conf (and from there into
  each pod's): one domain per entry, as Docker's --dns-search checks, never a newline
  that would add a `nameserver` line.
- `extraMounts[].hostPath` mounts a path of this machine into a node (a privileged
  container): it is a referenced file like `configFile`, confined to the scenario's
  directory tree unless --allow-outside-files.
"""

from __future__ import annotations

import re

from ..errors import Problem
from .files import OUTSIDE_HINT, FileAccess
from .kindconfig import KindCluster
from .yamlsource import Locator, Path

NAME_ENDS_RE = re.compile(r"^[a-z0-9](.*[a-z0-9])?$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                       r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
DOMAIN_MAX = 253


def cluster_name_problem(name: str) -> str | None:
    """Why a cluster name (already matching KIND's rule) cannot name nodes, or None."""
    if not NAME_ENDS_RE.match(name):
        return "a cluster name must start and end with a lower-case letter or digit"
    return None


def check_kind_config(config: KindCluster, at: Path, locator: Locator, access: FileAccess,
                      problems: list[Problem]) -> None:
    """The KIND config's values that reach the machine: search domains and mounts."""
    for index, domain in enumerate(config.networking.dnsSearch or []):
        if len(domain) > DOMAIN_MAX or not DOMAIN_RE.match(domain):
            problems.append(locator.problem(at + ("networking", "dnsSearch", index), "invalid search domain",
                                            domain, "a DNS domain such as example.internal (Docker's rule)"))
    for node_index, node in enumerate(config.nodes):
        for mount_index, mount in enumerate(node.extraMounts):
            path = at + ("nodes", node_index, "extraMounts", mount_index, "hostPath")
            reason = _host_path_problem(mount.hostPath, access)
            if reason:
                problems.append(locator.problem(path, reason, mount.hostPath, OUTSIDE_HINT))


def _host_path_problem(host_path: str, access: FileAccess) -> str | None:
    if access.allow_outside or not host_path or access.is_inside(host_path):
        return None
    return "the mounted path is outside the scenario's directory"
