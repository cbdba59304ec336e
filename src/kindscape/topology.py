"""The resolved scenario: every name, interface and address, as KIND + Docker would give them.

Pure data, built once from a validated spec (see `scenario/resolve.py`) and consumed
by the planner, the runtimes, `check` and `status`. Every tuple of addresses or
subnets is ordered primary family first (KIND's dual-stack order).

This is the topology as planned. A runtime may realise it with what the machine gives
instead (the kind runtime: the addresses Docker and Kubernetes pick, the containers'
namespaces): `Runtime.up` returns the topology as it is up, the state records it, and
the scenario's `Lab` uses that one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import marks

if TYPE_CHECKING:
    from .netpol import NetworkPolicy, PodView, ServedPort

# NetworkPolicy's model (netpol.py) is a dozen dataclasses, ~10 ms of every start, and
# a topology without policies or served ports - `status` and `check` of most scenarios -
# never needs it. It loads on first use: the names below are attributes of this module
# (`from .topology import NetworkPolicy` works), and codec resolves field types through
# them, only for fields it has values for.
_NETPOL_NAMES = ("NetworkPolicy", "PodView", "ServedPort")


def __getattr__(name: str) -> Any:
    if name in _NETPOL_NAMES:
        from . import netpol
        return getattr(netpol, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# Locations --------------------------------------------------------------------------
# Where an endpoint (a node, pod or host) lives: a typed location, one of
# - `NamedNetns`: a network namespace kindscape made (the netns runtime), by its name;
# - `InContainer`: a container's own network namespace, or a namespace inside it named as
#   containerd named a pod's (the kind runtime's nodes, hosts and pods);
# - `HostNamespace`: this machine's own (the kind runtime's Docker host).
#
# Each is also the text plans, `status` and trace show for it (`ks.demo.vm1`,
# `container:demo-vm1`, `container:kind-worker:cni-1234`, `host`), so it can stand where a
# namespace name always stood; code that needs its parts reads them (`container`, `netns`)
# and never takes the text apart. State files keep them as JSON objects (`to_json`).


class NamedNetns(str):
    """A network namespace of ours, mounted at /run/netns/<name>."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self)

    def to_json(self) -> dict[str, Any]:
        return {"namespace": str(self)}


class InContainer(str):
    """A container's network namespace (`netns` empty), or the named namespace inside it."""

    container: str
    netns: str

    def __new__(cls, container: str, netns: str = "") -> "InContainer":
        self = super().__new__(cls, f"container:{container}:{netns}" if netns else f"container:{container}")
        self.container, self.netns = container, netns
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # copy and pickle rebuild it from its parts
        return self.container, self.netns

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, "netns": self.netns}


class HostNamespace(str):
    """This machine's own network namespace."""

    __slots__ = ()

    def __new__(cls) -> "HostNamespace":
        return super().__new__(cls, "host")

    def __getnewargs__(self) -> tuple[()]:
        return ()

    def to_json(self) -> dict[str, Any]:
        return {"host": True}


Location = NamedNetns | InContainer | HostNamespace
LOCATIONS = (NamedNetns, InContainer, HostNamespace)


def location_from_json(data: Any) -> Location | str:
    """A location as `to_json` wrote it. A bare name (a state file written before locations
    were typed) is a namespace of ours; "" (no namespace: a Service) stays ""."""
    if isinstance(data, str):
        return NamedNetns(data) if data else data
    if "namespace" in data:
        return NamedNetns(data["namespace"])
    if "container" in data:
        return InContainer(data["container"], data.get("netns", ""))
    return HostNamespace()


IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

DOCKER_HOST = "docker-host"
KIND_NETWORK = "kind"  # KIND's shared Docker network
PROBE_PORT = 8080  # where every pod, node and host answers probes


def netns_name(scenario: str, endpoint: str) -> NamedNetns:
    """The namespace of an endpoint: `ks.<scenario>.<endpoint>` with '/' as '.'.

    Scenario names cannot hold '.', so the prefix `ks.<scenario>.` is unique to it.
    """
    return NamedNetns(f"{marks.NETNS_PREFIX}{scenario}.{endpoint.replace('/', '.')}")


@dataclass(frozen=True)
class Network:
    name: str
    index: int
    bridge: str
    subnets: tuple[IPNet, ...]
    gateways: tuple[IPAddr, ...]
    masquerade: bool
    declared: bool = True  # written in the file (False: `kind` left to KIND/Docker to create)


@dataclass(frozen=True)
class Attachment:
    """One interface of an endpoint on a network, and its bridge port in docker-host."""

    network: str
    ifname: str
    peer: str
    addresses: tuple[IPAddr, ...]


@dataclass(frozen=True)
class StaticRoute:
    to: IPNet
    via: IPAddr


@dataclass(frozen=True)
class Pod:
    name: str
    node: str
    index: int
    netns: Location
    host_ifname: str
    addresses: tuple[IPAddr, ...]
    gateways: tuple[IPAddr, ...]
    # Workload pods (`workloads:`) have a namespace, labels and ports; the pods of
    # podsPerNode are in `default` without labels, CoreDNS in kube-system.
    namespace: str = "default"
    labels: tuple[tuple[str, str], ...] = ()
    workload: str = ""  # the workload's name ("" for the pods of podsPerNode)
    ports: tuple[ServedPort, ...] = ()  # what a workload pod serves besides 8080/TCP

    @property
    def kube_name(self) -> str:
        """A workload pod's Kubernetes name, `<workload>` or `<workload>-<i>` ("" for others)."""
        if not self.workload:
            return ""
        last = self.name.rsplit("/", 1)[-1]
        return self.workload if last == self.workload else f"{self.workload}-{last}"

    @property
    def view(self) -> PodView:
        from .netpol import PodView  # see _NETPOL_NAMES
        return PodView(self.name, self.namespace, dict(self.labels), self.ports)


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: tuple[tuple[str, str], ...] = ()  # kubernetes.io/metadata.name included


@dataclass(frozen=True)
class Node:
    name: str
    cluster: str
    role: str
    netns: Location
    attachments: tuple[Attachment, ...]
    internal_ips: tuple[IPAddr, ...]
    pod_cidrs: tuple[IPNet, ...]
    pods: tuple[Pod, ...]
    loopbacks: tuple[IPAddr, ...] = ()
    static_routes: tuple[StaticRoute, ...] = ()
    node_address: str = "primary"

    def address_on(self, network: str) -> tuple[IPAddr, ...]:
        for attachment in self.attachments:
            if attachment.network == network:
                return attachment.addresses
        return ()


@dataclass(frozen=True)
class Service:
    cluster: str
    name: str
    namespace: str
    type: str
    port: int
    target_port: int
    node_port: int | None
    cluster_ips: tuple[IPAddr, ...]
    load_balancer_ips: tuple[IPAddr, ...]
    external_name: str | None
    backends: tuple[str, ...]  # pod endpoint names
    # The node that answers ARP/NDP for the LoadBalancer addresses (MetalLB's L2 mode:
    # one speaker per address); every node's kube-proxy rules catch them.
    announced_by: str | None = None


@dataclass(frozen=True)
class Cluster:
    name: str
    index: int
    ip_family: str
    pod_subnets: tuple[IPNet, ...]
    service_subnets: tuple[IPNet, ...]
    nodes: tuple[Node, ...]
    kube_proxy_mode: str = "iptables"
    services: tuple[Service, ...] = ()
    dns_pod: Pod | None = None  # CoreDNS: the backend of kube-dns, a pod of the first control-plane
    kind_config: str = ""  # the cluster's KIND config document as written (YAML), for `kind create`
    namespaces: tuple[Namespace, ...] = ()  # default and kube-system first, then the file's
    policies: tuple[NetworkPolicy, ...] = ()

    @property
    def namespace_labels(self) -> dict[str, dict[str, str]]:
        return {ns.name: dict(ns.labels) for ns in self.namespaces}

    @property
    def all_pods(self) -> tuple[Pod, ...]:
        """The emulated pods and the cluster's own (CoreDNS): every pod namespace."""
        return self.pods + ((self.dns_pod,) if self.dns_pod is not None else ())

    @property
    def dns_ips(self) -> tuple[IPAddr, ...]:
        """kube-dns's place: the tenth address of each serviceSubnet."""
        return tuple(subnet[10] for subnet in self.service_subnets)

    @property
    def pods(self) -> tuple[Pod, ...]:
        return tuple(pod for node in self.nodes for pod in node.pods)


@dataclass(frozen=True)
class Host:
    name: str
    netns: Location
    attachments: tuple[Attachment, ...]
    routes_to: tuple[str, ...] = ()
    service_routes_to: tuple[str, ...] = ()
    address_given: bool = False  # the first address was written in the file (not allocated)


@dataclass(frozen=True)
class DockerHost:
    netns: Location
    routes_to: tuple[str, ...] = ()
    service_routes_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Interconnect:
    clusters: tuple[str, ...]
    pods: bool = True
    services: bool = False
    masquerade: bool = False


@dataclass(frozen=True)
class Impairment:
    """Link emulation between two sides (a cluster, node, host or network, as written in
    the file), both directions. Units: delay and jitter in microseconds, percentages in
    percent, rate in bits per second; None means not set (see `measures.py`)."""

    sides: tuple[str, str]
    delay: int | None = None
    jitter: int | None = None
    loss: float | None = None
    duplicate: float | None = None
    corrupt: float | None = None
    reorder: float | None = None
    rate: int | None = None


@dataclass(frozen=True)
class Expectation:
    source: str
    target: str
    reachable: bool = True
    source_preserved: bool | None = None
    port: int | None = None  # None: 8080 for pods, nodes and hosts, the port of a Service
    protocol: str = "TCP"
    seen_source: tuple[str, ...] | None = None  # addresses the receiver may see as the source
    answered_by: tuple[str, ...] | None = None  # a Service's backends (pods) that must answer


@dataclass(frozen=True)
class ExpectationSet:
    """A named set of expectations (`expectWhen`), checked on demand: `check --expect NAME`."""

    name: str
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True)
class Endpoint:
    """Something a probe can start from or go to."""

    name: str
    kind: str  # pod | node | host | docker-host | service
    netns: Location | str  # "" for a Service (it has no namespace of its own)
    addresses: tuple[IPAddr, ...]
    group: str  # what the matrix groups it under: <cluster>/pods, <cluster>/nodes, a host
    port: int = PROBE_PORT


@dataclass(frozen=True)
class Topology:
    scenario: str
    networks: tuple[Network, ...]
    clusters: tuple[Cluster, ...]
    hosts: tuple[Host, ...] = ()
    docker_host: DockerHost = field(default_factory=lambda: DockerHost(""))
    interconnects: tuple[Interconnect, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    impairments: tuple[Impairment, ...] = ()
    expectation_sets: tuple[ExpectationSet, ...] = ()

    # Lookups -----------------------------------------------------------------
    def network(self, name: str) -> Network:
        return next(n for n in self.networks if n.name == name)

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.clusters if c.name == name)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(node for cluster in self.clusters for node in cluster.nodes)

    @property
    def pods(self) -> tuple[Pod, ...]:
        return tuple(pod for node in self.nodes for pod in node.pods)

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def namespaces(self) -> list[str]:
        """Every namespace of the scenario, docker-host first (it holds the bridges)."""
        names = [self.docker_host.netns]
        names += [node.netns for node in self.nodes]
        names += [pod.netns for cluster in self.clusters for pod in cluster.all_pods]
        names += [host.netns for host in self.hosts]
        return names
