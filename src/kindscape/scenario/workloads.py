"""Namespaces and workloads: named, labelled pods in a cluster's namespaces, checked and
then placed on nodes (after the pods of podsPerNode, on the same podCIDR).

A workload's replicas are spread over the nodes its `nodes` glob matches (default: the
cluster's workers, its control-plane when it has none), in node order. A replica is the
endpoint `<cluster>/pod/<namespace>/<workload>` when there is one, else
`<cluster>/pod/<namespace>/<workload>/<i>`; Kubernetes would call it `<workload>` or
`<workload>-<i>`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from .. import topology as topo
from ..netpol import ServedPort
from ..topology import Cluster, Node
from . import policyschema
from .policyschema import PolicyReader
from .validate import MAX_PODS_PER_NODE, Context, expectation_lists
from .yamlsource import Path

BUILTIN_NAMESPACES = ("default", "kube-system")
NAME_LABEL = "kubernetes.io/metadata.name"
MAX_REPLICAS = 250


def namespace_labels(name: str, labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({**labels, NAME_LABEL: name}.items()))


def declared_namespaces(ctx: Context, cluster: str) -> list[str]:
    found = list(BUILTIN_NAMESPACES)
    found += [n.name for n in ctx.spec.namespaces if n.cluster == cluster and n.name not in found]
    return found


def workload_pod_names(cluster: str, namespace: str, name: str, replicas: int) -> list[str]:
    base = f"{cluster}/pod/{namespace}/{name}"
    return [base] if replicas == 1 else [f"{base}/{i}" for i in range(replicas)]


def placement(ctx: Context, spec, path: Path | None = None) -> list[str]:
    """The nodes a workload's replicas go to, one per replica, in node order."""
    names = ctx.node_names.get(spec.cluster, [])
    if spec.nodes is not None:
        nodes = [n for n in names if fnmatch.fnmatchcase(n, spec.nodes)]
        if not nodes and path is not None:
            ctx.add(path + ("nodes",), f"matches no node of cluster {spec.cluster}", spec.nodes,
                    f"its nodes: {', '.join(names[:6])}")
    else:
        roles = dict(zip(names, _roles(ctx, spec.cluster)))
        nodes = [n for n in names if roles.get(n) == "worker"] or \
            [n for n in names if roles.get(n) == "control-plane"]
    return [nodes[i % len(nodes)] for i in range(spec.replicas)] if nodes else []


def _roles(ctx: Context, cluster: str) -> tuple[str, ...]:
    index = next((i for i, c in enumerate(ctx.spec.clusters) if c.name == cluster), None)
    info = ctx.networks.get(index) if index is not None else None
    return info.roles if info is not None else ()


# Checks -------------------------------------------------------------------------------
def check(ctx: Context) -> None:
    clusters = [c.name for c in ctx.spec.clusters]
    reader = PolicyReader(ctx.locator, ctx.problems)
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(ctx.spec.namespaces):
        path: Path = ("namespaces", index)
        _known_cluster(ctx, item.cluster, path, clusters)
        _dns_label(ctx, item.name, path + ("name",), "namespace")
        if (item.cluster, item.name) in seen:
            ctx.add(path + ("name",), f"duplicate namespace {item.name} in cluster {item.cluster}",
                    item.name, f"already declared as namespaces[{seen[(item.cluster, item.name)]}]")
        seen.setdefault((item.cluster, item.name), index)
        reader.labels(item.labels, path + ("labels",))
        if item.labels.get(NAME_LABEL, item.name) != item.name:
            ctx.add(path + ("labels", NAME_LABEL), "Kubernetes sets this label to the namespace's name",
                    item.labels[NAME_LABEL], f"leave it out or set it to {item.name}")
    _check_workloads(ctx, clusters, reader)
    _check_capacity(ctx)
    for at, items in expectation_lists(ctx.spec):
        for index, item in enumerate(items):
            if item.port is not None and not 1 <= item.port <= 65535:
                ctx.add(at + (index, "port"), "port out of range", item.port, "1 to 65535")


def _check_workloads(ctx: Context, clusters: list[str], reader: PolicyReader) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    for index, item in enumerate(ctx.spec.workloads):
        path: Path = ("workloads", index)
        if _known_cluster(ctx, item.cluster, path, clusters):
            known = declared_namespaces(ctx, item.cluster)
            if item.namespace not in known:
                ctx.add(path + ("namespace",), f"no namespace {item.namespace} in cluster {item.cluster}",
                        item.namespace, f"declare it under `namespaces`; known: {', '.join(known)}")
            placement(ctx, item, path)
        _dns_label(ctx, item.name, path + ("name",), "workload name")
        key = (item.cluster, item.namespace, item.name)
        if key in seen:
            ctx.add(path + ("name",), f"duplicate workload {item.namespace}/{item.name} in cluster {item.cluster}",
                    item.name, f"already declared as workloads[{seen[key]}]")
        seen.setdefault(key, index)
        reader.labels(item.labels, path + ("labels",))
        if not 1 <= item.replicas <= MAX_REPLICAS:
            ctx.add(path + ("replicas",), "replicas out of range", item.replicas, f"1 to {MAX_REPLICAS}")
        _check_ports(ctx, item, path)


def _check_ports(ctx: Context, item, path: Path) -> None:
    names: set[str] = set()
    served: set[tuple[int, str]] = set()
    for index, port in enumerate(item.ports):
        at = path + ("ports", index)
        if not 1 <= port.port <= 65535:
            ctx.add(at + ("port",), "port out of range", port.port, "1 to 65535")
        if (port.port, port.protocol) in served:
            ctx.add(at, f"{port.port}/{port.protocol} is listed twice", None, "list each port once")
        served.add((port.port, port.protocol))
        if port.name is not None:
            why = policyschema.is_port_name(port.name)
            if why:
                ctx.add(at + ("name",), f"invalid port name: {why}", port.name, "an IANA_SVC_NAME such as http")
            elif port.name in names:
                ctx.add(at + ("name",), "duplicate port name", port.name, "port names are unique in a pod")
            names.add(port.name)


def _check_capacity(ctx: Context) -> None:
    """Every node's pods (podsPerNode and workload replicas) fit its /24."""
    per_node: dict[str, int] = {}
    for item in ctx.spec.workloads:
        if 1 <= item.replicas <= MAX_REPLICAS:
            for node in placement(ctx, item):
                per_node[node] = per_node.get(node, 0) + 1
    plain = {c.name: c.podsPerNode for c in ctx.spec.clusters}
    for cluster, nodes in ctx.node_names.items():
        for node in nodes:
            total = per_node.get(node, 0) + plain.get(cluster, 0)
            if per_node.get(node) and total > MAX_PODS_PER_NODE:
                ctx.add(("workloads",), f"node {node} would have {total} pods", total,
                        f"a node's /24 podCIDR holds at most {MAX_PODS_PER_NODE}: spread the replicas")


def _known_cluster(ctx: Context, cluster: str, path: Path, clusters: list[str]) -> bool:
    if cluster not in clusters:
        ctx.add(path + ("cluster",), "unknown cluster", cluster,
                f"known clusters: {', '.join(clusters)}" if clusters else "no clusters are declared")
        return False
    return True


def _dns_label(ctx: Context, name: str, path: Path, what: str) -> None:
    if len(name) > 63 or not policyschema.DNS_LABEL.match(name):
        ctx.add(path, f"invalid {what}", name,
                "a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters")


def selected_pods(ctx: Context, cluster: str, namespace: str, selector: dict[str, str]) -> list[str]:
    """The workload pods of a namespace whose labels a Service's selector matches."""
    found = []
    for item in ctx.spec.workloads:
        if (item.cluster, item.namespace) == (cluster, namespace) and \
                all(item.labels.get(k) == v for k, v in selector.items()):
            found += workload_pod_names(cluster, namespace, item.name, item.replicas)
    return found


# Placement ----------------------------------------------------------------------------
def with_workloads(ctx: Context, cluster: Cluster) -> Cluster:
    """The cluster with its namespaces and its workload pods on their nodes."""
    extra: dict[str, list[tuple]] = {}
    for item in ctx.spec.workloads:
        if item.cluster != cluster.name:
            continue
        names = workload_pod_names(cluster.name, item.namespace, item.name, item.replicas)
        ports = tuple(ServedPort(p.port, p.protocol, p.name or "") for p in item.ports)
        for name, node in zip(names, placement(ctx, item)):
            extra.setdefault(node, []).append((name, item, ports))
    nodes = tuple(_with_pods(ctx.spec.name, node, extra.get(node.name, [])) for node in cluster.nodes)
    declared = {n.name: n.labels for n in ctx.spec.namespaces if n.cluster == cluster.name}
    spaces = tuple(topo.Namespace(name, namespace_labels(name, declared.get(name, {})))
                   for name in declared_namespaces(ctx, cluster.name))
    return replace(cluster, nodes=nodes, namespaces=spaces)


def _with_pods(scenario: str, node: Node, extra: list[tuple]) -> Node:
    if not extra:
        return node
    pods = list(node.pods)
    for name, item, ports in extra:
        k = len(pods) + 1
        pods.append(topo.Pod(name, node.name, k, topo.netns_name(scenario, name), f"vpod{k}",
                             tuple(cidr[1 + k] for cidr in node.pod_cidrs),
                             tuple(cidr[1] for cidr in node.pod_cidrs),
                             item.namespace, tuple(sorted(item.labels.items())), item.name, ports))
    return replace(node, pods=tuple(pods))
