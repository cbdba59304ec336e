"""The kind planner: a pure function from a resolved topology to the operations that
build it on real KIND clusters, the page's way (kind create, docker network connect,
docker exec ip route, kubelet's node-ip, the apiserver's advertise address).

Routes come from the core's routing (`plan/routing.py`: the same loops as the netns
runtime), minus kindnet's own routes (real kindnet makes those). Addresses that only
Docker or Kubernetes can know (a node's address on `kind`, its podCIDR) become
references that `Discover` operations look up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ...errors import KindscapeError
from ...plan import routing, rules
from ...plan.service_steps import pod_ports
from ...plan.layout import Plan
from ...plan.linux_ops import Route
from ...scenario.families import kind_ula_subnet
from ...topology import KIND_NETWORK, PROBE_PORT, Attachment, Host, IPNet, Node, Topology
from . import manifests, policy_manifests, service_manifests
from .container_links import ImpairLinks, plan_impairments
from .ops import (APISERVER_MANIFEST, KUBELET_FLAGS, MASQ_CHAIN, ROLE_LABEL, SCENARIO_LABEL, Connect,
                  ContainerGateway, ContainerIP, CreateCluster, CreateNetwork, Discover, Exec, HostRoute, HostVeth,
                  Listener, Phase, PodCIDR, ProbePod, ProbePods, RunHost, SandboxImage,
                  StartWorkloads, Value, picked_by_docker)
from .waits import AwaitApiserver, AwaitNodeAddress, AwaitRollouts, RestartKindnet

PROBE_NAMESPACE = "default"


@dataclass(frozen=True)
class Settings:
    """What the planner needs besides the topology (the runtime reads them from the environment)."""

    kind_network: str = KIND_NETWORK  # KIND_EXPERIMENTAL_DOCKER_NETWORK, as KIND honours it
    host_image: str = "busybox:1.36"
    probe_image: str = ""  # "": the node's own sandbox (pause) image


def _refuse_sctp(topology: Topology) -> None:
    """kindscape's workload server serves TCP and UDP: an SCTP port is refused before
    anything is created (the netns runtime refuses it where the kernel lacks SCTP)."""
    used = [f"{pod.name} port {p.port}/SCTP" for pod in topology.pods for p in pod.ports if p.protocol == "SCTP"]
    if used:
        raise KindscapeError(f"{', '.join(used[:3])}: the kind runtime serves workload ports on TCP and UDP only")


def _served(ports: tuple[int, ...], pod, protocol: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ports + tuple(p.port for p in pod.ports if p.protocol == protocol)))


def host_container(scenario: str, host: str) -> str:
    return f"{scenario}-{host}"


def plan(topology: Topology, settings: Settings = Settings()) -> Plan:
    _refuse_sctp(topology)
    names = _Names(topology, settings)
    steps: list = []
    steps += _networks(topology, names)
    steps += [CreateCluster(c.name, manifests.with_cert_sans(c.kind_config, _moved_apiservers(c)))
              for c in topology.clusters]
    for node in topology.nodes:
        steps += [Connect(names.docker(a.network), node.name, names.requested(a, given=False)[0])
                  for a in node.attachments[1:]]
    for host in topology.hosts:
        steps += _host(topology, host, names, settings)
    steps += _default_routes(topology, names)
    for node in topology.nodes:
        steps += _node(node)
    for cluster in topology.clusters:
        steps += _await_moves(cluster)
    steps += _routes(topology, names)
    steps += _no_masquerade(topology)
    steps += policy_manifests.plan_namespaces(topology)  # before the pods (same phase, in order)
    steps += _workloads(topology, settings)
    steps += service_manifests.plan_services(topology, PROBE_NAMESPACE)
    steps += policy_manifests.plan_policies(topology)
    steps += plan_impairments(topology, {h.name: names.containers[h.netns] for h in topology.hosts},
                              names.address)
    steps += [Discover(ref) for ref in _references(steps, names)]
    steps.sort(key=lambda op: op.phase)  # stable: the order above within a phase
    return Plan(topology.scenario, tuple(steps))


class _Names:
    """Docker names, and the references that stand for values Docker or Kubernetes pick."""

    def __init__(self, topology: Topology, settings: Settings):
        self.kind_network = settings.kind_network
        self.containers = {node.netns: node.name for node in topology.nodes}
        self.containers.update({h.netns: host_container(topology.scenario, h.name) for h in topology.hosts})
        self.refs: dict[str, Value] = {}
        for cluster in topology.clusters:
            for node in cluster.nodes:
                self._picked_by_docker(node.name, node.attachments[0])
                for index, cidr in enumerate(node.pod_cidrs):
                    self.refs[str(cidr)] = PodCIDR(cluster.name, node.name, index)
        for host in topology.hosts:
            for index, attachment in enumerate(host.attachments):
                if attachment.network == KIND_NETWORK:
                    given = host.address_given and index == 0
                    self._picked_by_docker(self.containers[host.netns], attachment, given)

    def _picked_by_docker(self, container: str, attachment, given: bool = False) -> None:
        for address in attachment.addresses:
            if address.version == 4 or not given:
                self.refs[str(address)] = ContainerIP(container, self.docker(attachment.network), address.version)

    def docker(self, network: str) -> str:
        return self.kind_network if network == KIND_NETWORK else network

    def requested(self, attachment: Attachment, given: bool) -> tuple[tuple[str, ...], str]:
        """The addresses Docker is asked for on a network, and the plan's comment. On
        `kind` (KIND makes it with no IPv4 subnet of its own; Docker before 29.0.4 refuses a
        fixed IPv4 address there) only an IPv6 address the file gave; elsewhere every one."""
        if attachment.network != KIND_NETWORK:
            return tuple(map(str, attachment.addresses)), ""
        ignored = tuple(str(a) for a in attachment.addresses if a.version == 4 and given)
        return (tuple(str(a) for a in attachment.addresses if a.version == 6 and given),
                picked_by_docker(ignored, self.docker(KIND_NETWORK)))

    def value(self, text: str) -> Value:
        return self.refs.get(text, text)

    def address(self, net: IPNet) -> Value:
        """What stands for an address or prefix in an impairment's match: a reference when
        Docker or Kubernetes picks it, else its text. (A network side's subnets never appear
        in a match: it stands for every address but its peer's, sides.crossing.)"""
        return self.value(str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net))


def _networks(topology: Topology, names: _Names) -> list:
    """`kind` only when the file declares it (else `kind create` makes it, as KIND does);
    the scenario's other networks always, labelled as the scenario's."""
    labels = ((SCENARIO_LABEL, topology.scenario),)
    found = []
    for network in topology.networks:
        if network.name == KIND_NETWORK and not network.declared:
            continue
        is_kind = network.name == KIND_NETWORK
        # The topology already holds each network's IPv6 subnet where it has one (KIND's
        # ULA for `kind`, as families.py derives it): the same addresses on both runtimes.
        # `kind` always gets KIND's ULA (KIND clusters created later reuse it as it is).
        ipv6 = [str(s) for s in network.subnets[1:] if s.version == 6]
        if is_kind and not ipv6:
            ipv6 = [str(kind_ula_subnet(names.docker(KIND_NETWORK)))]
        found.append(CreateNetwork(names.docker(network.name), network.name, str(network.subnets[0]),
                                   str(network.gateways[0]), ipv6[0] if ipv6 else "", network.masquerade,
                                   labels, is_kind))
    return found


def _moved_apiservers(cluster) -> list[str]:
    """Addresses the apiserver will advertise that KIND's certificate does not name."""
    return [str(a) for n in cluster.nodes if n.role == "control-plane" and n.node_address != "primary"
            for a in n.internal_ips]


def _host(topology: Topology, host: Host, names: _Names, settings: Settings) -> list:
    container = names.containers[host.netns]
    first = host.attachments[0]
    labels = ((SCENARIO_LABEL, topology.scenario), (ROLE_LABEL, f"host:{host.name}"))
    ips, comment = names.requested(first, host.address_given)
    steps: list = [RunHost(host.name, container, settings.host_image, names.docker(first.network), ips,
                           labels, comment)]
    for attachment in host.attachments[1:]:
        ips, comment = names.requested(attachment, given=False)
        steps.append(Connect(names.docker(attachment.network), container, ips, Phase.HOSTS, comment))
    return steps


def _default_routes(topology: Topology, names: _Names) -> list:
    """Docker gives a multi-homed container the default route of its network whose name
    sorts first (`backbone` before `kind`); as in the netns runtime, it stays on the
    container's first network (KIND's strict rp_filter drops replies that would come back
    the other way)."""
    found = []
    for netns, attachments in [(n.netns, n.attachments) for n in topology.nodes] + \
            [(h.netns, h.attachments) for h in topology.hosts]:
        container, first = names.containers[netns], attachments[0]
        for family in sorted({a.version for a in first.addresses}):
            if any(a.version == family for other in attachments[1:] for a in other.addresses):
                gateway = ContainerGateway(container, names.docker(first.network), family)
                found.append(Exec(container, _ip(family) + ("route", "replace", "default", "via", gateway,
                                                            "dev", "eth0"),
                                  f"default route on {names.docker(first.network)}, its first network"))
    return found


def _node(node: Node) -> list:
    """The page's loop body: a loopback address, static routes; then nodeAddress."""
    steps: list = [Exec(node.name, ("ip", "addr", "add", f"{a}/{a.max_prefixlen}", "dev", "lo"),
                        "nodes[].loopback") for a in node.loopbacks]
    steps += [Exec(node.name, _ip(r.to.version) + ("route", "replace", str(r.to), "via", str(r.via)),
                   "nodes[].routes") for r in node.static_routes]
    if node.node_address == "primary":
        return steps
    ips = ",".join(map(str, node.internal_ips))
    steps.append(Exec(node.name, ("sed", "-i", "-E", f's/--node-ip=[^ "]*/--node-ip={ips}/', KUBELET_FLAGS),
                      f"nodeAddress {node.node_address}: kubelet --node-ip", phase=Phase.NODE_ADDRESS))
    if node.role == "control-plane":
        steps.append(Exec(node.name, ("sed", "-i", "-E",
                                      f"s/--advertise-address=[^ \"]*/--advertise-address={node.internal_ips[0]}/",
                                      APISERVER_MANIFEST),
                          "apiserver --advertise-address (the kubelet restarts the static pod)",
                          phase=Phase.NODE_ADDRESS))
    steps.append(Exec(node.name, ("systemctl", "restart", "kubelet"), phase=Phase.NODE_ADDRESS))
    return steps


def _await_moves(cluster) -> list:
    """After kubelets and apiservers moved: the cluster serving again, each moved node
    reporting its address, and kindnet's pods on them replaced (see waits.py)."""
    moved = [n for n in cluster.nodes if n.node_address != "primary"]
    steps: list = [AwaitApiserver(cluster.name, str(n.internal_ips[0])) for n in moved if n.role == "control-plane"]
    steps += [AwaitNodeAddress(cluster.name, n.name, tuple(map(str, n.internal_ips))) for n in moved]
    if moved:
        steps.append(RestartKindnet(cluster.name, tuple(n.name for n in moved)))
    for node in moved:  # what the old kindnet pod may have routed meanwhile (through lo)
        for index, cidr in enumerate(node.pod_cidrs):
            ip = next(a for a in node.internal_ips if a.version == cidr.version)
            steps.append(Exec(node.name, _ip(cidr.version) + ("route", "del", PodCIDR(cluster.name, node.name, index),
                                                              "via", str(ip)),
                              "kindnet's old pod took its own node for a remote one", "No such process",
                              Phase.NODE_ADDRESS))
    return steps


def _ip(family: int) -> tuple[str, ...]:
    return ("ip", "-6") if family == 6 else ("ip",)


def _routes(topology: Topology, names: _Names) -> list:
    """The core's routes, except kindnet's own (the real kindnet makes them); on-link
    routes to loopbacks come with the nodes (before kubelets move to them), the rest after."""
    found = []
    for origin, route in routing.routes_by_origin(topology):
        if origin is routing.Origin.KINDNET:
            continue
        to, via = names.value(route.to), names.value(route.via) if route.via else ""
        if route.ns == topology.docker_host.netns:
            found.append(HostRoute(to, via, route.family, route.comment))
            continue
        argv: tuple[Value, ...] = _ip(route.family) + ("route", "replace", to)
        argv += ("via", via) if via else ()
        argv += _device(route)
        found.append(Exec(names.containers[route.ns], argv, route.comment,
                          phase=Phase.NODES if origin is routing.Origin.LOOPBACK else Phase.ROUTES))
    return found


def _device(route: Route) -> tuple[str, ...]:
    return (("dev", route.dev) if route.dev else ()) + (("scope", route.scope) if route.scope else ())


def _no_masquerade(topology: Topology) -> list:
    """kindnet's KIND-MASQ-AGENT gets a RETURN for each interconnected podSubnet, first in
    the chain (kindnet only appends its own rules, so ours stay ahead of its MASQUERADE)."""
    found = []
    for cluster_name, subnets in rules.masquerade_exceptions(topology).items():
        for node in topology.cluster(cluster_name).nodes:
            for family in sorted({s.version for s in subnets}):
                tool = "iptables" if family == 4 else "ip6tables"
                # -w: kube-proxy and kindnet hold the xtables lock now and then (legacy mode)
                found.append(Exec(node.name, (tool, "-w", "-t", "nat", "-N", MASQ_CHAIN),
                                  "kindnet makes it too", "Chain already exists", Phase.MASQUERADE))
                for subnet in (s for s in subnets if s.version == family):
                    found.append(Exec(node.name, (tool, "-w", "-t", "nat", "-I", MASQ_CHAIN, "1", "-d", str(subnet),
                                                  "-j", "RETURN", "-m", "comment", "--comment",
                                                  "kindscape: interconnect, no masquerade"),
                                      phase=Phase.MASQUERADE))
    return found


def _workloads(topology: Topology, settings: Settings) -> list:
    steps: list = []
    for cluster in topology.clusters:
        system = ("daemonset/kube-proxy",) if cluster.kube_proxy_mode != "none" else ()
        steps.append(AwaitRollouts(cluster.name, system + ("deployment/coredns",)))
        labels = service_manifests.pod_labels(cluster, PROBE_NAMESPACE)
        by_namespace: dict[str, list[ProbePod]] = {}
        for pod in cluster.pods:
            namespace, name = service_manifests.kube_pod(pod, PROBE_NAMESPACE)
            by_namespace.setdefault(namespace, []).append(ProbePod(
                name, pod.name, pod.node, pod.labels + labels.get(pod.name, ()),
                tuple((p.port, p.protocol, p.name) for p in pod.ports)))
        image: Value = settings.probe_image or SandboxImage(cluster.nodes[0].name)
        steps += [ProbePods(cluster.name, namespace, image, tuple(pods)) for namespace, pods in by_namespace.items()]
    ports = pod_ports(topology)  # 8080 and every targetPort of the Services selecting the pod
    listeners = [Listener(p.name, _served(ports[p.name], p, "TCP"), _served((), p, "UDP")) for p in topology.pods]
    listeners += [Listener(n.name, (PROBE_PORT,)) for n in topology.nodes]
    listeners += [Listener(h.name, (PROBE_PORT,)) for h in topology.hosts]
    steps.append(StartWorkloads(tuple(listeners)))
    return steps


def _references(steps: list, names: _Names) -> list:
    """Every reference the operations use, once, in the order of the containers."""
    found: dict = {}
    for op in steps:
        if isinstance(op, ImpairLinks):
            found.update(dict.fromkeys(op.refs()))
            continue
        for item in fields(op):
            value = getattr(op, item.name)
            for each in value if isinstance(value, tuple) else (value,):
                if isinstance(each, (ContainerIP, ContainerGateway, PodCIDR, SandboxImage)):
                    found.setdefault(each, None)
    order = {name: index for index, name in enumerate(names.containers.values())}
    kinds = (ContainerIP, ContainerGateway, PodCIDR, HostVeth, SandboxImage)

    def key(ref) -> tuple:
        container = getattr(ref, "container", None) or getattr(ref, "node", "")
        return (isinstance(ref, SandboxImage), order.get(container, len(order)), kinds.index(type(ref)))
    return sorted(found, key=key)
