"""The kind runtime: the provider that realises a scenario on real KIND clusters in Docker."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

from ... import codec, privileges
from ... import state as statefile
from ...errors import CommandFailed, KindscapeError
from ...linux import processes
from ...topology import HostNamespace, InContainer, Location
from ...plan import clusterdns
from ...plan.layout import Plan
from ...probe import prober
from ...probe.prober import ProbeResult, ProbeTask
from ...progress import Progress, no_progress
from ...runner import logged, require, run
from ...state import ScenarioState
from ...topology import Impairment, Topology
from .. import liveness
from ..base import EXEC, IMPAIR
from .apply import KindApplier
from .docker_side import DockerSide
from .facts import netns_path
from . import podexec
from .kind_cli import KindCli
from .kubectl import Kubectl
from .container_links import apply as apply_links
from .container_links import link_ops, remove_host_tables
from .ops import SCENARIO_LABEL
from .planner import KIND_NETWORK, Settings, plan
from .preflight import check_docker_state
from .records import Records, orphan_extra, routes_in, volume_name


def load_balancer_wait() -> float:
    """How long `up` waits for Kubernetes to give each LoadBalancer an address (seconds)."""
    text = os.environ.get("KINDSCAPE_LB_WAIT", "30")
    try:
        return max(0.0, float(text))
    except ValueError:
        raise KindscapeError(f"KINDSCAPE_LB_WAIT={text!r} is not a number of seconds") from None


def settings_from_env() -> Settings:
    return Settings(kind_network=os.environ.get("KIND_EXPERIMENTAL_DOCKER_NETWORK") or KIND_NETWORK,
                    host_image=os.environ.get("KINDSCAPE_HOST_IMAGE") or Settings.host_image,
                    probe_image=os.environ.get("KINDSCAPE_PROBE_IMAGE", ""))


class KindRuntime:
    name = "kind"
    capabilities = frozenset({IMPAIR, EXEC})  # trace: not yet (it would read the containers' kernels)

    def __init__(self, kind: KindCli | None = None, kube: Callable[[str], Kubectl] = Kubectl,
                 docker: DockerSide | None = None):
        self.kind = kind or KindCli()
        self.kube = kube
        self._docker = docker
        self.settings = settings_from_env()

    @property
    def docker(self) -> DockerSide:
        if self._docker is None:
            self._docker = DockerSide.connect()
        return self._docker

    def preflight(self, topology: Topology) -> None:
        """Everything checked before anything is made: root, docker, kind, kubectl, clashes."""
        self.check_privileges()
        self.kind.require()
        require("kubectl")
        self.check_links([(f"impairments[{i}]", item) for i, item in enumerate(topology.impairments)])
        check_docker_state(self.docker, topology, self.settings)

    def check_privileges(self) -> None:
        privileges.require(privileges.KIND, "the kind runtime",
                           "to enter the containers' network namespaces and route to them")

    def plan(self, topology: Topology) -> Plan:
        return plan(topology, self.settings)

    def plan_script(self, plan_: Plan) -> str:
        from .render import script
        return script(plan_)

    def plan_json(self, plan_: Plan) -> dict:
        from .render import to_json
        return to_json(plan_)

    def up(self, topology: Topology, plan_: Plan, state: ScenarioState, progress: Progress,
           save: Callable[[], None]) -> Topology:
        """The real topology: what Docker and Kubernetes gave (see facts.real_topology)."""
        records = Records.start(state, plan_, topology, self.settings.kind_network)
        save()
        self.docker.record_volume(volume_name(state.name), records.volume_labels())
        applier = KindApplier(plan_, state, records, progress, save, self.docker, self.kind, self.kube,
                              load_balancer_wait())
        applier.apply()
        assert applier.real is not None, "every kind plan starts the workloads, which find the real topology"
        return applier.real

    def plan_links(self, topology: Topology, impairments: tuple, partitions: tuple) -> list:
        """In the containers' namespaces of the real topology; the Docker host's tables named
        for the scenario (container_links.py)."""
        return link_ops(topology, impairments, partitions)

    def check_links(self, items: list[tuple[str, Impairment | None]]) -> None:
        """The containers share this machine's kernel: the netns runtime's feature checks."""
        if items:
            from .. import kernel_needs
            kernel_needs.check(items)

    def set_links(self, state: ScenarioState, desired: list, previous: list, progress: Progress) -> None:
        """Impairments and partitions in the containers' namespaces (see links.py)."""
        apply_links(self.docker, desired, previous, progress)

    def down(self, state: ScenarioState, progress: Progress) -> list[str]:
        self.check_privileges()
        removed: list[str] = []
        directory = statefile.scenario_dir(state.name)
        for record in state.processes + processes.find_servers(directory):
            if processes.stop(record):
                removed.append(f"process {record['pid']} ({record['role']})")
        docker = self.docker
        volumes = docker.labelled_volumes(state.name)
        routes = state.extra.get("hostRoutes", []) + routes_in(volumes)
        removed += _remove_host_routes(list({json.dumps(r, sort_keys=True): r for r in routes}.values()))
        removed += remove_host_tables(state.name)
        clusters = state.extra.get("clusters", [])
        for done, cluster in enumerate(clusters, start=1):
            if docker.kind_nodes(cluster):
                self._delete_cluster(cluster)
                removed.append(f"cluster {cluster}")
            progress("clusters", done, len(clusters))
        containers = set(state.extra.get("containers", [])) | set(docker.by_label(SCENARIO_LABEL, state.name))
        removed += [f"container {c}" for c in sorted(containers) if docker.remove_container(c)]
        removed += self._remove_networks(state)
        names = {state.extra.get("volume") or volume_name(state.name)} | {name for name, _ in volumes}
        removed += [f"volume {name}" for name in sorted(names) if docker.remove_volume(name)]
        return removed

    def _delete_cluster(self, cluster: str) -> None:
        """`kind delete cluster`; without kind (or if it fails), the nodes KIND labelled go
        the way `kind delete` removes them: docker rm -f."""
        try:
            self.kind.delete(cluster)
        except (CommandFailed, KindscapeError) as exc:
            print(f"warning: kind delete cluster --name {cluster} failed ({exc}); removing its "
                  "nodes with docker", file=sys.stderr)
        for node in self.docker.kind_nodes(cluster):
            self.docker.remove_container(node)

    def _remove_networks(self, state: ScenarioState) -> list[str]:
        docker, removed = self.docker, []
        names = list(dict.fromkeys(state.extra.get("networks", []) + docker.labelled_networks(state.name)))
        for name in names:
            users = docker.attached(name)
            if users:  # e.g. `kind`, made by this scenario, now shared with other clusters
                print(f"warning: network {name} kept: still used by {', '.join(users)}", file=sys.stderr)
                continue
            if docker.remove_network(name):
                removed.append(f"network {name}")
        return removed

    def orphans(self, scenario: str) -> ScenarioState | None:
        self.check_privileges()
        docker = self.docker
        volumes = docker.labelled_volumes(scenario)
        containers = docker.by_label(SCENARIO_LABEL, scenario)
        networks = docker.labelled_networks(scenario)
        if not (volumes or containers or networks):
            return None
        main = [v for v in volumes if v[0] == volume_name(scenario)]
        extra = orphan_extra(*main[0]) if main else orphan_extra(volume_name(scenario), {})
        extra["containers"], extra["networks"] = containers, networks
        return ScenarioState(scenario, self.name, phase="orphaned", extra=extra)

    def probe(self, state: ScenarioState, tasks: list[ProbeTask], timeout: float,
              progress: Progress = no_progress) -> list[ProbeResult]:
        self.check_privileges()
        liveness.require_workloads(state)
        paths: dict[str, str] = {}
        pids: dict[str, int] = {}  # one `docker inspect` per container, not per pod on it
        for task in tasks:
            if task.source_ns not in paths:
                paths[task.source_ns] = netns_path(self.docker, task.source_ns, pids)
        resolved = [replace(t, source_ns=paths[t.source_ns]) for t in tasks]
        results = prober.run(resolved, timeout=timeout, progress=progress)
        for result, task in zip(results, tasks):
            result.task = task  # report the endpoint's own name for its namespace
        return results

    def exec(self, state: ScenarioState, where: Location, argv: Sequence[str],
             capture: bool) -> subprocess.CompletedProcess:
        """Nodes and hosts: `docker exec` (their own tools and files); pods: the pod's
        network namespace with this machine's tools and the pod's resolv.conf (as `ip netns
        exec`, see podexec.py); docker-host: here."""
        self.check_privileges()
        liveness.require_workloads(state)
        if isinstance(where, HostNamespace):
            full = list(argv)
        elif isinstance(where, InContainer) and not where.netns:
            if capture:
                return self.docker.exec(where.container, list(argv))
            full = ["docker", "exec", "-i", *(["-t"] if sys.stdin.isatty() else []), where.container, *argv]
        elif isinstance(where, InContainer):
            resolv = _resolv_conf(state, where, self._node_search(where.container))
            full = podexec.argv(netns_path(self.docker, where), resolv, list(argv))
        else:
            full = ["nsenter", f"--net={netns_path(self.docker, where)}", *argv]
        output = {"capture_output": True, "text": True} if capture else {}
        with logged(shlex.join(full)):  # not runner.run: the command's failure is its caller's answer
            return subprocess.run(full, check=False, **output)

    def _node_search(self, node: str) -> list[str]:
        """The search domains of the node's resolv.conf (Docker's, or KIND's dnsSearch)."""
        done = self.docker.exec(node, ["cat", "/etc/resolv.conf"])
        return [domain for line in done.stdout.splitlines() if line.split()[:1] in (["search"], ["domain"])
                for domain in line.split()[1:]] if done.returncode == 0 else []

    def health(self, state: ScenarioState) -> list[str]:
        problems = [f"workload server (pid {record['pid']}) is not running"
                    for record in state.processes if not processes.alive(record)]
        try:
            docker = self.docker
        except KindscapeError as exc:
            return problems + [str(exc)]
        for cluster in state.extra.get("clusters", []):
            if not docker.kind_nodes(cluster):
                problems.append(f"cluster {cluster} has no nodes (deleted outside kindscape?)")
        for container in state.extra.get("containers", []):
            if docker.container(container) is None:
                problems.append(f"container {container} is missing")
        return problems + _pending_load_balancers(state)


def _resolv_conf(state: ScenarioState, pod_ns: Location, node_search: list[str]) -> str:
    """kubelet's resolv.conf for a ClusterFirst pod, in the scenario's state directory: the
    search path of the pod's namespace, then the node's own domains (kubelet appends them)."""
    topology = codec.decode(Topology, state.topology)
    cluster, pod = next((c, p) for c in topology.clusters for p in c.pods if p.netns == pod_ns)
    text = clusterdns.resolv_conf(cluster, state.name, pod.namespace)
    cluster_search = clusterdns.search_path(pod.namespace)
    search = list(dict.fromkeys(list(cluster_search) + node_search))
    text = text.replace(f"search {' '.join(cluster_search)}\n", f"search {' '.join(search)}\n")
    path = os.path.join(statefile.scenario_dir(state.name), f"resolv.conf.{pod.node}.{pod.namespace}")
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o644)
    return path


def _pending_load_balancers(state: ScenarioState) -> list[str]:
    """LoadBalancer Services Kubernetes gave no address while `up` waited for one."""
    if not state.topology:
        return []
    topology = codec.decode(Topology, state.topology)
    return [f"LoadBalancer Service {s.namespace}/{s.name} of cluster {c.name} got no address from "
            "Kubernetes: KIND needs cloud-provider-kind running for that (then `down` and `up` again)"
            for c in topology.clusters for s in c.services if s.type == "LoadBalancer" and not s.load_balancer_ips]


def _remove_host_routes(routes: list[dict]) -> list[str]:
    removed = []
    for route in routes:
        family = ["-6"] if route.get("family") == 6 else []
        with contextlib.suppress(CommandFailed):
            run(["ip", *family, "route", "del", route["to"], "via", route["via"]])
            removed.append(f"route {route['to']} via {route['via']}")
    return removed
