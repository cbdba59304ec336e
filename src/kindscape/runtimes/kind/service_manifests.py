"""Services on real KIND clusters: the file's `services` as Kubernetes objects, backed by
the scenario's probe pods. Pure: the planner's part (objects from the topology) and the
manifests (objects to YAML); `apply.py` sends them with `kubectl apply`.

- A Service in the probe pods' namespace selects its backends by a label the planner puts
  on those pods (`svc.kindscape.io/<name>: backend`), so the endpoints controller and
  kube-proxy do the rest, as for any Deployment.
- A Service in another namespace cannot select them (a selector matches pods of its own
  namespace only): it has no selector, and kindscape writes its EndpointSlices (one per
  address family) with the probe pods' addresses, as Kubernetes allows for selector-less
  Services; kube-proxy and CoreDNS read them as they read the controller's.
- The ClusterIPs and NodePorts are the ones the netns runtime allocates (`spec.clusterIP(s)`,
  `nodePort`), so both runtimes give the same addresses. LoadBalancer addresses are
  Kubernetes' to give (cloud-provider-kind on a KIND machine): the status shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import yaml

from ...topology import Cluster, Topology
from .ops import MANAGED_BY, Discover, Phase, PodIP, Value

SERVICE_LABEL = "svc.kindscape.io/"  # + the Service's name, on every pod that backs it
BACKEND = "backend"
FAMILIES = {4: "IPv4", 6: "IPv6"}  # (scenario.families has it too, but loads pydantic)
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")  # never re-applied


def probe_pod_name(endpoint: str) -> str:
    """The Kubernetes name of the probe pod for `<node>/pod<N>`."""
    return f"ks-{endpoint.replace('/', '-')}"


def kube_pod(pod, pod_namespace: str) -> tuple[str, str]:
    """(namespace, name) of a pod in Kubernetes: a workload's replica in its namespace under
    its own name; the pods of podsPerNode as probe pods in `pod_namespace`."""
    if pod.workload:
        return pod.namespace, pod.kube_name
    return pod_namespace, probe_pod_name(pod.name)


@dataclass(frozen=True)
class Backend:
    pod: str  # the Kubernetes pod's name
    node: str
    addresses: tuple[Value, ...]  # PodIP references, one per family


@dataclass(frozen=True)
class ServiceObject:
    name: str
    namespace: str
    type: str  # as in the file: ClusterIP | NodePort | LoadBalancer | Headless | ExternalName
    port: int
    target_port: int
    node_port: int | None
    cluster_ips: tuple[str, ...]
    families: tuple[int, ...]  # the cluster's, primary first
    external_name: str | None
    selects: bool  # True: a selector on the probe pods' label; False: EndpointSlices
    backends: tuple[Backend, ...]


@dataclass(frozen=True)
class ApplyServices:
    """A cluster's Services (and their namespaces and EndpointSlices): `kubectl apply`."""

    cluster: str
    services: tuple[ServiceObject, ...]
    phase = Phase.SERVICES

    def manifest(self, value: Callable[[Value], str]) -> str:
        return render(self.services, value)

    def shell(self) -> str:
        text = self.manifest(lambda v: v if isinstance(v, str) else f"${{{v.var}}}")
        return f"kubectl --context kind-{self.cluster} apply -f - <<EOF\n{text}EOF"


def plan_services(topology: Topology, pod_namespace: str) -> list:
    """Per cluster with Services: the pod addresses its EndpointSlices need, then the objects."""
    found: list = []
    for cluster in topology.clusters:
        if not cluster.services:
            continue
        objects = tuple(_object(cluster, s, pod_namespace) for s in cluster.services)
        refs = dict.fromkeys(a for o in objects if not o.selects for b in o.backends for a in b.addresses)
        found += [Discover(ref, Phase.SERVICES) for ref in refs if not isinstance(ref, str)]
        found.append(ApplyServices(cluster.name, objects))
    return found


def _object(cluster: Cluster, service, pod_namespace: str) -> ServiceObject:
    families = tuple(s.version for s in cluster.service_subnets)
    pods = {pod.name: pod for pod in cluster.pods}
    placed = [(kube_pod(pods[name], pod_namespace), pods[name].node) for name in service.backends]
    backends = tuple(Backend(name, node, tuple(PodIP(cluster.name, namespace, name, index)
                                               for index in range(len(families))))
                     for (namespace, name), node in placed)
    selects = all(namespace == service.namespace for (namespace, _), _ in placed)
    return ServiceObject(service.name, service.namespace, service.type, service.port, service.target_port,
                         service.node_port, tuple(map(str, service.cluster_ips)), families,
                         service.external_name, selects, backends)


def pod_labels(cluster: Cluster, pod_namespace: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """The labels each probe pod (by endpoint) carries for the Services that select it."""
    found: dict[str, list[tuple[str, str]]] = {}
    pods = {pod.name: pod for pod in cluster.pods}
    for service in cluster.services:
        if service.type == "ExternalName":
            continue
        for pod in service.backends:
            if kube_pod(pods[pod], pod_namespace)[0] == service.namespace:
                found.setdefault(pod, []).append((SERVICE_LABEL + service.name, BACKEND))
    return {pod: tuple(labels) for pod, labels in found.items()}


# Manifests ---------------------------------------------------------------------------
def render(services: tuple[ServiceObject, ...], value: Callable[[Value], str]) -> str:
    docs: list[dict] = [_namespace(n) for n in dict.fromkeys(s.namespace for s in services if not s.selects)
                        if n not in BUILT_IN_NAMESPACES]
    for service in services:
        docs.append(service_manifest(service))
        if not service.selects and service.type != "ExternalName":
            docs += endpoint_slices(service, value)
    return "".join("---\n" + yaml.safe_dump(doc, sort_keys=False) for doc in docs)


def _metadata(name: str, namespace: str | None = None, **labels: str) -> dict:
    data: dict = {"name": name}
    if namespace is not None:
        data["namespace"] = namespace
    data["labels"] = {"app.kubernetes.io/managed-by": MANAGED_BY, **labels}
    return data


def _namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(name)}


def service_manifest(service: ServiceObject) -> dict:
    spec: dict = {"type": "ClusterIP" if service.type == "Headless" else service.type}
    if service.type == "ExternalName":
        spec["externalName"] = service.external_name
    else:
        spec.update(_addressing(service))
        if service.selects:
            spec["selector"] = {SERVICE_LABEL + service.name: BACKEND}
    port: dict = {"protocol": "TCP", "port": service.port}
    if service.type != "ExternalName":
        port["targetPort"] = service.target_port
    if service.node_port is not None:
        port["nodePort"] = service.node_port
    spec["ports"] = [port]
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(service.name, service.namespace),
            "spec": spec}


def _addressing(service: ServiceObject) -> dict:
    """The requested ClusterIPs (the netns runtime's), or None for Headless, in the cluster's families."""
    families = [FAMILIES[f] for f in service.families]
    policy = "RequireDualStack" if len(families) > 1 else "SingleStack"
    if service.type == "Headless":
        return {"clusterIP": "None", "ipFamilyPolicy": policy, "ipFamilies": families}
    found: dict = {"clusterIP": service.cluster_ips[0]}
    if len(service.cluster_ips) > 1:
        found["clusterIPs"] = list(service.cluster_ips)
    found.update({"ipFamilyPolicy": policy, "ipFamilies": families})
    return found


def endpoint_slices(service: ServiceObject, value: Callable[[Value], str]) -> list[dict]:
    """One EndpointSlice per family, listing the backends' addresses at the targetPort
    (unnamed, as the Service's one port is)."""
    found = []
    for index, family in enumerate(service.families):
        found.append({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": _metadata(f"{service.name}-kindscape-{FAMILIES[family].lower()}", service.namespace,
                                  **{"kubernetes.io/service-name": service.name,
                                     "endpointslice.kubernetes.io/managed-by": "kindscape.io"}),
            "addressType": FAMILIES[family],
            "ports": [{"name": "", "protocol": "TCP", "port": service.target_port}],
            "endpoints": [{"addresses": [value(b.addresses[index])], "conditions": {"ready": True},
                           "nodeName": b.node} for b in service.backends],
        })
    return found
