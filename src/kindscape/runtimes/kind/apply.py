"""Applying a kind plan: each operation does what its rendering says, through the Docker
SDK, the kind binary or kubectl. Everything is recorded in the state before it is made."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ... import codec
from ... import state as statefile
from ...errors import RuntimeFailure
from ...plan.layout import Plan
from ...runner import run
from ...state import ScenarioState
from ...topology import Topology
from ...progress import Progress
from ...linux import processes
from .docker_side import DockerSide
from .facts import Facts, netns_path, real_topology
from .kind_cli import KindCli
from .kubectl import Kubectl, PodStatus
from .container_links import ImpairLinks
from .container_links import apply as apply_links
from .ops import (PROBE_SELECTOR, Connect, CreateCluster, CreateNetwork, Discover, Exec, HostRoute, Phase,
                  ProbePods, RunHost, StartWorkloads)
from .records import Records
from .policy_manifests import ApplyNamespaces, ApplyPolicies
from .service_manifests import ApplyServices
from .waits import KINDNET, AwaitApiserver, AwaitNodeAddress, AwaitRollouts, RestartKindnet

WORKLOADS = "workloads"


class KindApplier:
    def __init__(self, plan: Plan, state: ScenarioState, records: Records, progress: Progress,
                 save: Callable[[], None], docker: DockerSide, kind: KindCli,
                 kube: Callable[[str], Kubectl], load_balancer_wait: float = 30):
        self.plan, self.state, self.records = plan, state, records
        self.progress, self.save = progress, save
        self.docker, self.kind, self.kube = docker, kind, kube
        self.facts = Facts(docker, kube, records.topology)
        self.pods: dict[str, PodStatus] = {}
        self.load_balancer_wait = load_balancer_wait
        self.load_balancers: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self.real: Topology | None = None

    def apply(self) -> None:
        phases: dict[Phase, list] = defaultdict(list)
        for op in self.plan.ops:
            phases[op.phase].append(op)
        for phase in sorted(phases):
            if phase == Phase.CLUSTERS:
                self._clusters(phases[phase])
                continue
            ops = phases[phase]
            for done, op in enumerate(ops, start=1):
                self._one(op)
                self.progress(phase.name.lower(), done, len(ops))

    def _one(self, op) -> None:
        match op:
            case CreateNetwork():
                self._network(op)
            case Connect():
                self.docker.connect_network(op)
            case RunHost():
                self.docker.run_host(op)
            case Discover(ref=ref):
                self.facts.value(ref)
            case Exec():
                self._exec(op)
            case HostRoute():
                self._host_route(op)
            case ProbePods():
                self._probe_pods(op)
            case ApplyServices():
                self._services(op)
            case ApplyNamespaces() | ApplyPolicies():
                self.kube(op.cluster).apply(op.manifest())
            case StartWorkloads():
                self._workloads(op)
            case ImpairLinks():
                apply_links(self.docker, op.resolved(self.facts.value), [], self.progress)
            case AwaitApiserver() | AwaitNodeAddress() | RestartKindnet() | AwaitRollouts():
                self._await(op)
            case _:
                raise RuntimeFailure(f"the kind runtime cannot apply {op!r}")

    def _network(self, op: CreateNetwork) -> None:
        existing = self.docker.network(op.name)
        if existing is not None and op.reuse:
            return  # KIND's way: an existing `kind` is used as it is (preflight checked its subnet)
        self.records.network_made(op.name)
        self.save()
        planned = next(n for n in self.records.topology.networks if n.name == op.network)
        self.docker.create_network(op, ipv6_needed=any(s.version == 6 for s in planned.subnets))

    def _clusters(self, ops: list[CreateCluster]) -> None:
        """`kind create cluster` for every cluster at once (KIND handles concurrent creates)."""
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, min(4, len(ops)))) as pool:
            for _ in pool.map(self.kind.create, ops):
                done += 1
                self.progress("clusters", done, len(ops))

    def _exec(self, op: Exec) -> None:
        argv = [self.facts.value(v) for v in op.argv]
        done = self.docker.exec(op.container, argv)
        if done.returncode != 0 and not (op.tolerate and op.tolerate in done.stderr + done.stdout):
            raise RuntimeFailure(f"docker exec {op.container} {' '.join(argv)} (exit {done.returncode}): "
                                 f"{(done.stderr or done.stdout).strip()}")

    def _await(self, op) -> None:
        """What the cluster does after kindscape changed it, or before it is ready (waits.py)."""
        kube = self.kube(op.cluster)
        match op:
            case AwaitApiserver():
                kube.await_apiserver(op.address)
            case AwaitNodeAddress():
                kube.await_node_address(op.node, op.ips)
                self.facts.nodes.pop(op.cluster, None)  # the InternalIPs changed: ask again
            case RestartKindnet():
                for node in op.nodes:
                    kube.delete_pods_on("kube-system", KINDNET, node)
                kube.rollout("kube-system", "daemonset/kindnet")
            case AwaitRollouts():
                for workload in op.workloads:
                    kube.rollout("kube-system", workload)

    def _host_route(self, op: HostRoute) -> None:
        to, via = self.facts.value(op.to), self.facts.value(op.via)
        family = ["-6"] if op.family == 6 else []
        volume, labels = self.records.host_route_made(to, via, op.family)
        self.save()
        self.docker.record_volume(volume, labels)
        run(["ip", *family, "route", "replace", to, "via", via])

    def _probe_pods(self, op: ProbePods) -> None:
        kube = self.kube(op.cluster)
        kube.apply(op.manifest(self.facts.value(op.image)))
        kube.wait_ready(op.namespace, PROBE_SELECTOR)
        found = self.facts.probe_pods(op.cluster, op.namespace, fresh=True)
        for pod in op.pods:
            if pod.name in found:
                self.pods[pod.endpoint] = found[pod.name]

    def _services(self, op: ApplyServices) -> None:
        """The Services (kubectl apply); then what Kubernetes gave the LoadBalancers (its
        cloud provider takes a moment; none without one: the status says so)."""
        kube = self.kube(op.cluster)
        kube.apply(op.manifest(self.facts.value))
        balancers = [s for s in op.services if s.type == "LoadBalancer"]
        deadline = time.monotonic() + self.load_balancer_wait
        for service in balancers:
            while True:
                found = kube.load_balancer_ips(service.namespace, service.name)
                if found or time.monotonic() >= deadline:
                    break
                time.sleep(1)
            self.load_balancers[(op.cluster, service.namespace, service.name)] = found

    def _workloads(self, op: StartWorkloads) -> None:
        """The real topology first (every endpoint's namespace), then one server process
        with a listener inside each of them."""
        real = real_topology(self.records.topology, self.facts, self.records.kind_network, self.pods,
                             self.records.host_containers, self.load_balancers)
        self.real = real
        self.state.topology = codec.encode(real)
        self.save()
        spaces = {p.name: p.netns for p in real.pods}
        spaces.update({n.name: n.netns for n in real.nodes})
        spaces.update({h.name: h.netns for h in real.hosts})
        spec = {"scenario": self.plan.scenario,
                "listeners": [{"ns": netns_path(self.docker, spaces[item.endpoint]),
                               "endpoint": item.endpoint, "ports": list(item.ports), "udp": list(item.udp_ports)}
                              for item in op.listeners]}
        record = processes.start_server(spec, statefile.scenario_dir(self.plan.scenario), WORKLOADS)
        self.state.processes.append(record)
        self.save()
