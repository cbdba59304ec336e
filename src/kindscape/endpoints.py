"""Endpoint selectors (`cluster-a/pods`, `cluster-a-worker/pod1`, `vm1`, `docker-host`,
`cluster-a/svc/web`, …)
resolved against a topology into the concrete things a probe starts from or goes to."""

from __future__ import annotations

from dataclasses import dataclass, field

from .topology import DOCKER_HOST, Endpoint, Node, Pod, Topology

# Which Service types each view of a Service (`<cluster>/<view>/<name>`) can probe.
SERVICE_VIEWS = {"svc": ("ClusterIP", "NodePort", "LoadBalancer", "Headless"),
                 "nodeport": ("NodePort", "LoadBalancer"),
                 "lb": ("LoadBalancer",)}


class EndpointError(ValueError):
    """An endpoint selector that names nothing; the message says what exists."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


def pod_endpoint(pod: Pod, cluster: str) -> Endpoint:
    return Endpoint(pod.name, "pod", pod.netns, pod.addresses, f"{cluster}/pods")


def node_endpoint(node: Node) -> Endpoint:
    return Endpoint(node.name, "node", node.netns, node.internal_ips, f"{node.cluster}/nodes")


def docker_host_endpoint(topology: Topology) -> Endpoint:
    # The gateway of the kind network: docker-host owns every gateway, kind's is the one all share.
    return Endpoint(DOCKER_HOST, "docker-host", topology.docker_host.netns,
                    topology.networks[0].gateways, DOCKER_HOST)


def all_sources(topology: Topology) -> list[Endpoint]:
    """Every pod, node and host (what `check --all` probes from)."""
    found = [pod_endpoint(p, c.name) for c in topology.clusters for p in c.pods]
    found += [node_endpoint(n) for n in topology.nodes]
    found += [host_endpoint(h) for h in topology.hosts]
    return found


def all_targets(topology: Topology) -> list[Endpoint]:
    """Every pod and host (what `check --all` probes to)."""
    found = [pod_endpoint(p, c.name) for c in topology.clusters for p in c.pods]
    found += [host_endpoint(h) for h in topology.hosts]
    return found


def host_endpoint(host) -> Endpoint:
    return Endpoint(host.name, "host", host.netns, host.attachments[0].addresses, host.name)


@dataclass(frozen=True)
class Names:
    """What a selector is checked against: names only, so a file can be checked before
    any address is allocated (validation) and a running scenario after (commands)."""

    pods_per_node: dict[str, int]  # cluster -> emulated pods on each of its nodes
    node_cluster: dict[str, str]  # node -> its cluster
    hosts: frozenset[str]
    service_types: dict[tuple[str, str, str], str]  # (cluster, namespace, name) -> type
    workloads: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (cluster, ns, name) -> replicas
    namespaces: frozenset[tuple[str, str]] = frozenset()  # (cluster, namespace) declared in the file

    @classmethod
    def of(cls, topology: Topology) -> "Names":
        replicas: dict[tuple[str, str, str], int] = {}
        for cluster in topology.clusters:
            for pod in cluster.pods:
                if pod.workload:
                    key = (cluster.name, pod.namespace, pod.workload)
                    replicas[key] = replicas.get(key, 0) + 1
        return cls({c.name: sum(1 for p in c.nodes[0].pods if not p.workload) if c.nodes else 0
                    for c in topology.clusters},
                   {n.name: n.cluster for n in topology.nodes},
                   frozenset(h.name for h in topology.hosts),
                   {(c.name, s.namespace, s.name): s.type for c in topology.clusters for s in c.services},
                   replicas,
                   frozenset((c.name, ns.name) for c in topology.clusters for ns in c.namespaces))


@dataclass(frozen=True)
class Selector:
    """A checked selector: `kind` is docker-host, pods, nodes, node, pod, host or service;
    `name` the cluster (pods, nodes), node, pod or host it names."""

    kind: str
    name: str
    service: tuple[str, str, str, str] | None = None  # (cluster, view, namespace, name)
    workload: tuple[str, str, int | None] | None = None  # (namespace, name, replica) of a workload or ns


def parse(selector: str, names: Names) -> Selector:
    """The one grammar of endpoint selectors; raises EndpointError saying what exists."""
    if selector == DOCKER_HOST:
        return Selector("docker-host", DOCKER_HOST)
    if selector in names.hosts:
        return Selector("host", selector)
    if selector in names.node_cluster:
        return Selector("node", selector)
    parts = selector.split("/")
    if len(parts) == 2 and parts[1] in ("pods", "nodes"):
        _known_cluster(parts[0], names)
        if parts[1] == "pods" and names.pods_per_node[parts[0]] == 0 and \
                not any(c == parts[0] for c, _, _ in names.workloads):
            raise EndpointError(f"cluster {parts[0]} has no pods", "set podsPerNode to 1 or more")
        return Selector(parts[1], parts[0])
    service = service_selector(selector)
    if service is not None:
        return _parse_service(service, names)
    if len(parts) >= 3 and parts[1] in ("pod", "ns"):
        return _parse_workload(parts, names)
    if len(parts) == 2 and parts[0] in names.node_cluster:
        count = names.pods_per_node[names.node_cluster[parts[0]]]
        if parts[1] in {f"pod{k}" for k in range(1, count + 1)}:
            return Selector("pod", selector)
        raise EndpointError(f"unknown pod {selector}", f"{parts[0]} has pod1 to pod{count}" if count
                            else f"{parts[0]} has no pods (podsPerNode is 0)")
    if len(parts) == 2:
        raise EndpointError(f"unknown node {parts[0]!r}",
                            f"nodes: {', '.join(sorted(names.node_cluster)[:6]) or 'none'}")
    raise EndpointError(f"unknown endpoint {selector!r}", "a node, <node>/podN, <cluster>/pods, "
                        "<cluster>/nodes, <cluster>/pod/<ns>/<workload>, <cluster>/ns/<ns>, a host, "
                        "docker-host or <cluster>/svc/<name>")


def _known_cluster(name: str, names: Names) -> None:
    if name not in names.pods_per_node:
        raise EndpointError(f"unknown cluster {name!r}", f"clusters: {', '.join(names.pods_per_node) or 'none'}")


def _parse_workload(parts: list[str], names: Names) -> Selector:
    """`<cluster>/pod/<ns>/<workload>[/<i>]` and `<cluster>/ns/<ns>`."""
    _known_cluster(parts[0], names)
    cluster = parts[0]
    if parts[1] == "ns":
        known = sorted({ns for c, ns, _ in names.workloads if c == cluster})
        if len(parts) != 3 or parts[2] not in known:
            raise EndpointError(f"no workload pods in namespace {'/'.join(parts[2:])!r} of cluster {cluster}",
                                "namespaces with workloads: " + (", ".join(known) or "none"))
        return Selector("namespace", cluster, workload=(parts[2], "", None))
    if len(parts) not in (4, 5) or (cluster, parts[2], parts[3]) not in names.workloads:
        known = [f"{cluster}/pod/{ns}/{n}" for c, ns, n in names.workloads if c == cluster]
        raise EndpointError(f"unknown workload {'/'.join(parts[2:])!r} in cluster {cluster}",
                            "workloads: " + (", ".join(known[:6]) or "none"))
    replicas = names.workloads[(cluster, parts[2], parts[3])]
    index = None
    if len(parts) == 5:
        if not parts[4].isdigit() or int(parts[4]) >= replicas:
            raise EndpointError(f"no replica {parts[4]!r} of {'/'.join(parts[:4])}",
                                f"replicas 0 to {replicas - 1}")
        index = int(parts[4])
    return Selector("workload", cluster, workload=(parts[2], parts[3], index))


def _parse_service(service: tuple[str, str, str, str], names: Names) -> Selector:
    cluster, view, namespace, name = service
    _known_cluster(cluster, names)
    kind = names.service_types.get((cluster, namespace, name))
    if kind is None:
        known = [f"{ns}/{n}" for (c, ns, n) in names.service_types if c == cluster]
        raise EndpointError(f"unknown service {namespace}/{name} in cluster {cluster}",
                            "services: " + (", ".join(known) or "none"))
    problem = service_view_problem(view, kind)
    if problem:  # said with the selector: trace names two endpoints
        raise EndpointError(f"{cluster}/{view}/{namespace}/{name}: {problem[0]}", problem[1])
    return Selector("service", cluster, service)


def resolve(topology: Topology, selector: str, names: Names | None = None) -> list[Endpoint]:
    """All endpoints a selector names; raises EndpointError when it names none. `names`:
    `Names.of(topology)`, made once by a caller that resolves many selectors."""
    chosen = parse(selector, Names.of(topology) if names is None else names)
    if chosen.kind == "docker-host":
        return [docker_host_endpoint(topology)]
    if chosen.kind == "host":
        return [host_endpoint(next(h for h in topology.hosts if h.name == chosen.name))]
    if chosen.kind == "node":
        return [node_endpoint(topology.node(chosen.name))]
    if chosen.kind == "nodes":
        return [node_endpoint(n) for n in topology.cluster(chosen.name).nodes]
    if chosen.kind == "pods":
        return [pod_endpoint(p, chosen.name) for p in topology.cluster(chosen.name).pods]
    if chosen.kind == "pod":  # `<node>/podN`: among its node's pods
        node = topology.node(chosen.name.split("/")[0])
        pod = next(p for p in node.pods if p.name == chosen.name)
        return [pod_endpoint(pod, node.cluster)]
    if chosen.kind in ("workload", "namespace"):
        assert chosen.workload is not None
        namespace, name, index = chosen.workload
        pods = [p for p in topology.cluster(chosen.name).pods if p.workload and p.namespace == namespace
                and (not name or p.workload == name)]
        if index is not None:
            base = f"{chosen.name}/pod/{namespace}/{name}"
            pods = [p for p in pods if p.name in (base, f"{base}/{index}")]
        return [pod_endpoint(p, chosen.name) for p in pods]
    assert chosen.service is not None
    return [_service(topology, *chosen.service)]


def single(topology: Topology, selector: str) -> Endpoint:
    found = resolve(topology, selector)
    if len(found) != 1:
        raise EndpointError(f"{selector!r} names {len(found)} endpoints; name one",
                            f"e.g. {found[0].name}")
    return found[0]


def service_selector(selector: str) -> tuple[str, str, str, str] | None:
    """`<cluster>/<view>/[<namespace>/]<name>` as (cluster, view, namespace, name), where the
    view says which address and port a probe connects to: `svc` the ClusterIP and port
    (a Headless Service: its pods at the port), `nodeport` every node's address on `kind`
    at the NodePort, `lb` the LoadBalancer address and port."""
    parts = selector.split("/")
    if len(parts) in (3, 4) and parts[1] in SERVICE_VIEWS:
        namespace, name = (parts[2], parts[3]) if len(parts) == 4 else ("default", parts[2])
        return parts[0], parts[1], namespace, name
    return None


def service_view_problem(view: str, service_type: str) -> tuple[str, str] | None:
    """Why a Service of this type cannot be probed through this view (message, hint)."""
    if service_type not in SERVICE_VIEWS[view]:
        what = {"svc": "no address to connect to (DNS answers a CNAME)",
                "nodeport": "no NodePort", "lb": "no LoadBalancer address"}[view]
        article = "an" if service_type[0] in "AEIOU" else "a"
        return (f"{article} {service_type} Service has {what}",
                "probe a ClusterIP, NodePort, LoadBalancer or Headless Service, or its pods")
    return None


def _service(topology: Topology, cluster_name: str, view: str, namespace: str, name: str) -> Endpoint:
    """The addresses and port a probe of this (checked) Service view connects to."""
    cluster = topology.cluster(cluster_name)
    service = next(s for s in cluster.services if (s.namespace, s.name) == (namespace, name))
    full = f"{cluster.name}/{view}/{namespace}/{name}"
    if view == "nodeport":
        addresses = tuple(a for node in cluster.nodes for a in node.attachments[0].addresses)
        return Endpoint(full, "service", "", addresses, full, service.node_port or 0)
    if view == "lb":
        return Endpoint(full, "service", "", service.load_balancer_ips, full, service.port)
    if service.type == "Headless":
        pods = {pod.name: pod for pod in cluster.pods}
        addresses = tuple(a for backend in service.backends for a in pods[backend].addresses)
        return Endpoint(full, "service", "", addresses, full, service.target_port)
    return Endpoint(full, "service", "", service.cluster_ips, full, service.port)
