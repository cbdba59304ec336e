"""Endpoint selectors (`cluster-a/pods`, `cluster-a-worker/pod1`, `vm1`, `docker-host`,
`cluster-a/svc/web`, …)
resolved against a topology into the concrete things a probe starts from or goes to."""

from __future__ import annotations

from .topology import DOCKER_HOST, Endpoint, Node, Pod, Topology

PROBE_PORT = 8080
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


def resolve(topology: Topology, selector: str) -> list[Endpoint]:
    """All endpoints a selector names; raises EndpointError when it names none."""
    if selector == DOCKER_HOST:
        return [docker_host_endpoint(topology)]
    parts = selector.split("/")
    if len(parts) == 2 and parts[1] in ("pods", "nodes"):
        cluster = _cluster(topology, parts[0])
        if parts[1] == "nodes":
            return [node_endpoint(n) for n in cluster.nodes]
        pods = [pod_endpoint(p, cluster.name) for p in cluster.pods]
        if not pods:
            raise EndpointError(f"cluster {cluster.name} has no pods", "set podsPerNode to 1 or more")
        return pods
    wanted = service_selector(selector)
    if wanted is not None:
        return [_service(topology, *wanted)]
    if len(parts) == 2:
        return [_pod(topology, parts[0], parts[1])]
    if len(parts) == 1:
        node = topology.node(selector)
        if node is not None:
            return [node_endpoint(node)]
        for host in topology.hosts:
            if host.name == selector:
                return [host_endpoint(host)]
    raise EndpointError(f"unknown endpoint {selector!r}", _known_hint(topology))


def single(topology: Topology, selector: str) -> Endpoint:
    found = resolve(topology, selector)
    if len(found) != 1:
        raise EndpointError(f"{selector!r} names {len(found)} endpoints; name one",
                            f"e.g. {found[0].name}")
    return found[0]


def _cluster(topology: Topology, name: str):
    for cluster in topology.clusters:
        if cluster.name == name:
            return cluster
    names = ", ".join(c.name for c in topology.clusters)
    raise EndpointError(f"unknown cluster {name!r}", f"clusters: {names}")


def _pod(topology: Topology, node_name: str, pod: str) -> Endpoint:
    node = topology.node(node_name)
    if node is None:
        raise EndpointError(f"unknown node {node_name!r}", _known_hint(topology))
    for candidate in node.pods:
        if candidate.name == f"{node_name}/{pod}":
            return pod_endpoint(candidate, node.cluster)
    raise EndpointError(f"unknown pod {node_name}/{pod}",
                        f"{node_name} has pod1 to pod{len(node.pods)}" if node.pods else
                        f"{node_name} has no pods (podsPerNode is 0)")


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
    cluster = _cluster(topology, cluster_name)
    service = next((s for s in cluster.services if (s.namespace, s.name) == (namespace, name)), None)
    if service is None:
        raise EndpointError(f"unknown service {namespace}/{name} in cluster {cluster.name}",
                            "services: " + (", ".join(f"{s.namespace}/{s.name}" for s in cluster.services)
                                            or "none"))
    problem = service_view_problem(view, service.type)
    if problem:
        raise EndpointError(f"{cluster.name}/svc/{namespace}/{name}: {problem[0]}", problem[1])
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


def _known_hint(topology: Topology) -> str:
    examples = [n.name for n in topology.nodes[:2]] + [h.name for h in topology.hosts[:1]]
    if topology.clusters:
        examples.append(f"{topology.clusters[0].name}/pods")
    examples.append(DOCKER_HOST)
    return "e.g. " + ", ".join(examples)
