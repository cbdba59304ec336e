"""Services: checked as the API server checks them, then given addresses and ports as
Kubernetes (and, for LoadBalancer, cloud-provider-kind) would give them.

Allocation is deterministic, so the same file always gets the same addresses:
- ClusterIPs from the serviceSubnet, from its 20th address upward in file order (the
  contract's example puts the first Service at 10.115.0.20), never .1 (the `kubernetes`
  Service) nor .10 (kube-dns); the same offset in every family of a dual-stack cluster.
- NodePorts from 30000-32767: the ones written in the file first, then the lowest free.
- LoadBalancer addresses from the `kind` network, after every node and host, in file
  order; each is announced by one node of the cluster (MetalLB's L2 mode), in turn.
- CoreDNS, kube-dns's backend, is a pod of the first control-plane node, on the address
  after the emulated pods.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import replace

from .. import topology as topo
from ..topology import Cluster, IPAddr
from . import naming
from .schema import ServiceSpec
from .validate import KIND_NETWORK, Context
from .yamlsource import Path

SERVICE_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # DNS-1035 label
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # DNS-1123 label
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253
NODE_PORTS = range(30000, 32768)
FIRST_CLUSTER_IP = 20
RESERVED_OFFSETS = (1, 10)  # the `kubernetes` Service and kube-dns
RESERVED_SERVICES = {("default", "kubernetes"): "the API server's Service",
                     ("kube-system", "kube-dns"): "the cluster DNS (at the serviceSubnet's tenth address)"}
WITH_CLUSTER_IP = ("ClusterIP", "NodePort", "LoadBalancer")
WITH_NODE_PORT = ("NodePort", "LoadBalancer")
DNS_POD = "coredns"


# Checks (before allocation) ---------------------------------------------------------
def check_services(ctx: Context) -> None:
    """Every problem of `services`, located; allocation runs only when there is none."""
    seen: dict[tuple[str, str, str], int] = {}
    clusters = [c.name for c in ctx.spec.clusters]
    for index, service in enumerate(ctx.spec.services):
        path: Path = ("services", index)
        known = service.cluster in clusters
        if not known:
            ctx.add(path + ("cluster",), "unknown cluster", service.cluster,
                    f"known clusters: {', '.join(clusters)}" if clusters else "no clusters are declared")
        _check_names(ctx, service, path, seen, index)
        _check_ports(ctx, service, path)
        _check_type_fields(ctx, service, path)
        if known and ctx.node_names.get(service.cluster) is not None and service.type != "ExternalName":
            backend_pods(ctx, service, path)
    _check_node_port_clashes(ctx)


def _check_names(ctx: Context, service: ServiceSpec, path: Path,
                 seen: dict[tuple[str, str, str], int], index: int) -> None:
    if not SERVICE_NAME_RE.match(service.name) or len(service.name) > LABEL_MAX:
        ctx.add(path + ("name",), "invalid Service name", service.name,
                "a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, "
                f"at most {LABEL_MAX} characters")
    if not NAMESPACE_RE.match(service.namespace) or len(service.namespace) > LABEL_MAX:
        ctx.add(path + ("namespace",), "invalid namespace", service.namespace,
                f"a DNS-1123 label: lower-case letters, digits and '-', at most {LABEL_MAX} characters")
    reserved = RESERVED_SERVICES.get((service.namespace, service.name))
    if reserved:
        ctx.add(path + ("name",), f"{service.namespace}/{service.name} is {reserved}, which every "
                "cluster already has", service.name, "choose another name")
    key = (service.cluster, service.namespace, service.name)
    if key in seen:
        ctx.add(path + ("name",), f"duplicate Service {service.namespace}/{service.name} in cluster "
                f"{service.cluster}", service.name, f"already declared as services[{seen[key]}]")
    else:
        seen[key] = index


def _check_ports(ctx: Context, service: ServiceSpec, path: Path) -> None:
    for key, value in (("port", service.port), ("targetPort", service.targetPort)):
        if value is not None and not 1 <= value <= 65535:
            ctx.add(path + (key,), f"{key} out of range", value, "1 to 65535")
    if service.nodePort is not None:
        if service.type not in WITH_NODE_PORT:
            ctx.add(path + ("nodePort",), f"a {service.type} Service has no nodePort", service.nodePort,
                    "use type NodePort or LoadBalancer, or remove nodePort")
        elif service.nodePort not in NODE_PORTS:
            ctx.add(path + ("nodePort",), "nodePort outside the NodePort range", service.nodePort,
                    f"{NODE_PORTS.start}-{NODE_PORTS.stop - 1}, or leave it out to have one allocated")
    if service.type == "Headless" and service.targetPort not in (None, service.port):
        # Nothing translates ports on the way to a headless Service's pods: clients reach
        # them at `port` (Kubernetes ignores targetPort when clusterIP is None).
        ctx.add(path + ("targetPort",), "targetPort clashes with port: a Headless Service has no proxy "
                "to translate one into the other", service.targetPort,
                f"leave targetPort out or set it to {service.port}")


def _check_type_fields(ctx: Context, service: ServiceSpec, path: Path) -> None:
    if service.type != "ExternalName":
        if service.externalName is not None:
            ctx.add(path + ("externalName",), f"a {service.type} Service has no externalName",
                    service.externalName, "use type ExternalName, or remove externalName")
        return
    if service.externalName is None:
        ctx.add(path, "an ExternalName Service needs `externalName`", None,
                "the DNS name its CNAME points to, e.g. db.example.internal")
    elif not DNS_SUBDOMAIN_RE.match(service.externalName) or len(service.externalName) > SUBDOMAIN_MAX:
        ctx.add(path + ("externalName",), "invalid externalName", service.externalName,
                "a lower-case DNS name such as db.example.internal")
    for key in ("targetPort", "backends"):
        if getattr(service, key) is not None:
            ctx.add(path + (key,), f"an ExternalName Service has no {key}", getattr(service, key),
                    "DNS answers a CNAME; nothing is proxied to pods")


def backend_pods(ctx: Context, service: ServiceSpec, path: Path) -> list[str]:
    """The pods backing a Service: those of the nodes its `backends` glob matches (or, with
    a '/' in the glob, the pods it matches by name); all of the cluster's by default."""
    if service.selector is not None:
        return _selected(ctx, service, path)
    nodes = ctx.node_names.get(service.cluster, [])
    count = next(c.podsPerNode for c in ctx.spec.clusters if c.name == service.cluster)
    pods = [naming.pod_name(node, k) for node in nodes for k in range(1, count + 1)]
    if service.backends is None:
        if not pods:
            ctx.add(path, f"cluster {service.cluster} has no pods to back the Service", None,
                    "set podsPerNode to 1 or more")
        return pods
    if "/" in service.backends:
        found = [p for p in pods if fnmatch.fnmatchcase(p, service.backends)]
    else:
        matched = [n for n in nodes if fnmatch.fnmatchcase(n, service.backends)]
        if not matched:
            ctx.add(path + ("backends",), f"matches no node of cluster {service.cluster}", service.backends,
                    f"its nodes: {', '.join(nodes[:6])}{' …' if len(nodes) > 6 else ''}")
            return []
        found = [p for p in pods if p.split("/")[0] in matched]
    if not found:
        ctx.add(path + ("backends",), "matches no pod", service.backends,
                f"pods of {service.cluster}: {', '.join(pods[:4]) or 'none (podsPerNode is 0)'}")
    return found


def _selected(ctx: Context, service: ServiceSpec, path: Path) -> list[str]:
    """The workload pods a Service's `selector` matches in its namespace."""
    from .workloads import selected_pods
    if service.backends is not None:
        ctx.add(path + ("selector",), "give `selector` or `backends`, not both", None,
                "selector: labels of workload pods; backends: a node glob of podsPerNode pods")
        return []
    found = selected_pods(ctx, service.cluster, service.namespace, service.selector or {})
    if not found:
        ctx.add(path + ("selector",), f"selects no workload pod of namespace {service.namespace}",
                None, "the labels of a workload in the Service's namespace")
    return found


def _check_node_port_clashes(ctx: Context) -> None:
    taken: dict[tuple[str, int], int] = {}
    for index, service in enumerate(ctx.spec.services):
        if service.nodePort is None or service.type not in WITH_NODE_PORT:
            continue
        key = (service.cluster, service.nodePort)
        if key in taken:
            first = ctx.spec.services[taken[key]]
            ctx.add(("services", index, "nodePort"), f"nodePort {service.nodePort} is already taken in "
                    f"cluster {service.cluster} by {first.namespace}/{first.name}", service.nodePort,
                    "every NodePort of a cluster is open on all its nodes: choose another, or leave it out")
        else:
            taken[key] = index


# Allocation ----------------------------------------------------------------------------
def resolve_services(ctx: Context, pools: dict, clusters: tuple[Cluster, ...]) -> tuple[Cluster, ...]:
    """The clusters with their Services and CoreDNS pod (after every node and host has its
    address, so LoadBalancer addresses come last, as cloud-provider-kind's would)."""
    lb_addresses = _allocate_lb_addresses(ctx, pools)
    return tuple(_with_services(ctx, cluster, lb_addresses) for cluster in clusters)


def _with_services(ctx: Context, cluster: Cluster, lb_addresses: dict[int, tuple[IPAddr, ...]]) -> Cluster:
    specs = [(i, s) for i, s in enumerate(ctx.spec.services) if s.cluster == cluster.name]
    cluster_ips = _allocate_cluster_ips(ctx, cluster, specs)
    node_ports = _allocate_node_ports(ctx, cluster, specs)
    services = []
    announced = 0
    for index, spec in specs:
        announcer = None
        if spec.type == "LoadBalancer":
            announcer = cluster.nodes[announced % len(cluster.nodes)].name
            announced += 1
        backends = () if spec.type == "ExternalName" else tuple(backend_pods(ctx, spec, ("services", index)))
        services.append(topo.Service(
            cluster.name, spec.name, spec.namespace, spec.type, spec.port,
            spec.targetPort if spec.targetPort is not None else spec.port,
            node_ports.get(index), cluster_ips.get(index, ()), lb_addresses.get(index, ()),
            spec.externalName, backends, announcer))
    return replace(cluster, services=tuple(services), dns_pod=dns_pod(ctx.spec.name, cluster))


def _usable_offsets(cluster: Cluster, count: int) -> list[int]:
    """The first `count` offsets into every serviceSubnet, in allocation order: 20 upward,
    then 2 to 19 (fewer when the subnets hold fewer; a /12 holds a million: not listed)."""
    size = min(s.num_addresses - (1 if s.version == 4 else 0) for s in cluster.service_subnets)
    low = (o for o in range(2, min(FIRST_CLUSTER_IP, size)) if o not in RESERVED_OFFSETS)
    return list(itertools.islice(itertools.chain(range(FIRST_CLUSTER_IP, size), low), count))


def _allocate_cluster_ips(ctx: Context, cluster: Cluster, specs) -> dict[int, tuple[IPAddr, ...]]:
    wanted = [index for index, spec in specs if spec.type in WITH_CLUSTER_IP]
    offsets = _usable_offsets(cluster, len(wanted))
    found = {}
    for position, index in enumerate(wanted):
        if position >= len(offsets):
            ctx.add(("services", index), f"serviceSubnet of cluster {cluster.name} has no free address left",
                    ",".join(map(str, cluster.service_subnets)), "use a larger serviceSubnet")
            continue
        found[index] = tuple(subnet[offsets[position]] for subnet in cluster.service_subnets)
    return found


def _allocate_node_ports(ctx: Context, cluster: Cluster, specs) -> dict[int, int]:
    found = {index: spec.nodePort for index, spec in specs
             if spec.type in WITH_NODE_PORT and spec.nodePort is not None}
    explicit = set(found.values())
    free = (port for port in NODE_PORTS if port not in explicit)
    for index, spec in specs:
        if spec.type in WITH_NODE_PORT and spec.nodePort is None:
            port = next(free, None)
            if port is None:
                ctx.add(("services", index), f"no NodePort left in cluster {cluster.name}", None,
                        f"{NODE_PORTS.start}-{NODE_PORTS.stop - 1} are all taken")
                continue
            found[index] = port
    return found


def _allocate_lb_addresses(ctx: Context, pools: dict) -> dict[int, tuple[IPAddr, ...]]:
    """One address per LoadBalancer Service from the `kind` network, in each of its families."""
    kind = pools[KIND_NETWORK]
    per_family = list(kind) if isinstance(kind, (list, tuple)) else [kind]  # a pool per subnet, or one
    found = {}
    for index, spec in enumerate(ctx.spec.services):
        if spec.type != "LoadBalancer":
            continue
        addresses = tuple(pool.next() for pool in per_family)
        if None in addresses:
            ctx.add(("services", index), "network kind has no free address left for the LoadBalancer",
                    ",".join(str(pool.subnet) for pool in per_family), "use a larger subnet for kind")
            continue
        found[index] = addresses
    return found


def dns_pod(scenario: str, cluster: Cluster) -> topo.Pod | None:
    """CoreDNS: a pod of the first control-plane node, on the address after its emulated pods."""
    node = next((n for n in cluster.nodes if n.role == "control-plane"), None)
    if node is None:
        return None
    name = f"{node.name}/{DNS_POD}"
    offset = len(node.pods) + 2  # .1 is the node's side of every ptp link, pods start at .2
    return topo.Pod(name, node.name, 0, topo.netns_name(scenario, name), f"v{DNS_POD}",
                    tuple(cidr[offset] for cidr in node.pod_cidrs),
                    tuple(cidr[1] for cidr in node.pod_cidrs), "kube-system", (("k8s-app", "kube-dns"),))
