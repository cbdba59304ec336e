"""The kind runtime's part of the state file (`state.extra`): every cluster, container,
network and host route, written before it is made, so `down` can remove it after a crash.
The clusters are also recorded in Docker itself (a labelled volume), for `down` without
the state file."""

from __future__ import annotations

from dataclasses import dataclass

from ...plan.layout import Plan
from ...state import ScenarioState
from ...topology import Topology
from .ops import SCENARIO_LABEL, CreateCluster, CreateNetwork, RunHost
from .planner import host_container

CLUSTERS_LABEL = "io.kindscape.clusters"
KIND_NETWORK_LABEL = "io.kindscape.kind-network"
ROUTE_LABEL = "io.kindscape.host-route"  # "<family> <to> <via>"


def volume_name(scenario: str) -> str:
    return f"kindscape-{scenario}"


@dataclass
class Records:
    state: ScenarioState
    topology: Topology  # as planned (addresses Docker picks are still predictions here)

    @classmethod
    def start(cls, state: ScenarioState, plan: Plan, topology: Topology, kind_network: str) -> "Records":
        """Record everything the plan will make, before any of it is made."""
        state.extra = {
            "kindNetwork": kind_network,
            "volume": volume_name(plan.scenario),
            "clusters": [op.cluster for op in plan.of(CreateCluster)],
            "containers": [op.container for op in plan.of(RunHost)],
            # `kind` is added only if this scenario creates it (it may exist already).
            "networks": [op.name for op in plan.of(CreateNetwork) if not op.reuse],
            "hostRoutes": [],
        }
        return cls(state, topology)

    @property
    def extra(self) -> dict:
        return self.state.extra

    @property
    def kind_network(self) -> str:
        return self.extra.get("kindNetwork", "kind")

    @property
    def host_containers(self) -> dict[str, str]:
        return {h.name: host_container(self.topology.scenario, h.name) for h in self.topology.hosts}

    def volume_labels(self) -> dict[str, str]:
        return {SCENARIO_LABEL: self.state.name, CLUSTERS_LABEL: ",".join(self.extra["clusters"]),
                KIND_NETWORK_LABEL: self.kind_network}

    def network_made(self, name: str) -> None:
        if name not in self.extra["networks"]:
            self.extra["networks"].append(name)

    def host_route_made(self, to: str, via: str, family: int) -> tuple[str, dict[str, str]]:
        """Records a route on the Docker host; returns its record for Docker too (a volume
        named for it), since the state file may be lost."""
        self.extra["hostRoutes"].append({"to": to, "via": via, "family": family})
        name = f"{volume_name(self.state.name)}-route{len(self.extra['hostRoutes'])}"
        return name, {SCENARIO_LABEL: self.state.name, ROUTE_LABEL: f"{family} {to} {via}"}


def routes_in(volumes: list[tuple[str, dict[str, str]]]) -> list[dict]:
    """The host routes recorded in the scenario's Docker volumes."""
    found = []
    for _, labels in volumes:
        if ROUTE_LABEL in labels:
            family, to, via = labels[ROUTE_LABEL].split()
            found.append({"to": to, "via": via, "family": int(family)})
    return found


def orphan_extra(volume: str, labels: dict[str, str]) -> dict:
    """What the Docker-side record says, as `state.extra` (containers and networks are found
    by their labels)."""
    clusters = [c for c in labels.get(CLUSTERS_LABEL, "").split(",") if c]
    return {"kindNetwork": labels.get(KIND_NETWORK_LABEL, "kind"), "volume": volume,
            "clusters": clusters, "containers": [], "networks": [], "hostRoutes": []}
