"""Endpoint selectors (`cluster-a/pods`, `cluster-a-worker/pod1`, `vm1`, `docker-host`, …)
resolved against a topology into the concrete things a probe starts from or goes to."""

from __future__ import annotations

from .topology import DOCKER_HOST, Endpoint, Node, Pod, Topology

PROBE_PORT = 8080


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
    if len(parts) >= 3 and parts[1] == "svc":
        return [_service(topology, parts[0], parts[2:])]
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


def _service(topology: Topology, cluster_name: str, rest: list[str]) -> Endpoint:
    cluster = _cluster(topology, cluster_name)
    namespace, name = (rest[0], rest[1]) if len(rest) == 2 else ("default", rest[0])
    for service in cluster.services:
        if service.name == name and service.namespace == namespace:
            if not service.cluster_ips:
                raise EndpointError(f"service {namespace}/{name} has no cluster IP ({service.type})",
                                    "probe its pods instead")
            return Endpoint(f"{cluster.name}/svc/{namespace}/{name}", "service", "",
                            service.cluster_ips, f"{cluster.name}/svc", service.port)
    raise EndpointError(f"unknown service {namespace}/{name} in cluster {cluster.name}",
                        "services: " + (", ".join(f"{s.namespace}/{s.name}" for s in cluster.services)
                                        or "none"))


def _known_hint(topology: Topology) -> str:
    examples = [n.name for n in topology.nodes[:2]] + [h.name for h in topology.hosts[:1]]
    if topology.clusters:
        examples.append(f"{topology.clusters[0].name}/pods")
    examples.append(DOCKER_HOST)
    return "e.g. " + ", ".join(examples)
