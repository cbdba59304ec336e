"""Shell completion of the CLI's arguments (typer's --install-completion installs it):
the names of the scenarios that are up, and the endpoints of one. Completion must never
fail or be slow: anything unreadable (e.g. the root-only state as a user) completes nothing."""

from __future__ import annotations

import typer

from .errors import KindscapeError


def scenario_names(incomplete: str) -> list[str]:
    """Scenarios that have state on this machine, for NAME arguments."""
    from . import state
    try:
        return [name for name in state.names() if name.startswith(incomplete)]
    except OSError:
        return []


def endpoints(ctx: typer.Context, incomplete: str) -> list[str]:
    """The nodes, pods, hosts and docker-host of the scenario named before, for ENDPOINT."""
    from . import api
    from .topology import DOCKER_HOST
    name = ctx.params.get("name")
    if not name:
        return []
    try:
        topology = api.attach(name).topology
    except (KindscapeError, OSError):
        return []
    found = [node.name for node in topology.nodes] + [pod.name for pod in topology.pods]
    found += [host.name for host in topology.hosts] + [DOCKER_HOST]
    return [each for each in found if each.startswith(incomplete)]
