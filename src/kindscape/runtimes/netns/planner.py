"""The netns runtime's planner: a pure function from a resolved topology to the ordered
operations that realise it in network namespaces the way KIND, Docker, kindnet and the
page's loops do, from the shared planning functions of plan/.

No side effects, no clock, no randomness: the same topology always gives the same plan
(golden tests hold it to that).
"""

from __future__ import annotations

from ... import topology as topo
from ...marks import ownership_mark
from ...plan import neighbours, routing, rules, service_steps
from . import ops
from ...topology import PROBE_PORT, Node, Topology

NODE_SYSCTLS = (
    # What KIND nodes run with (see ../shared/notes): forwarding, strict rp_filter.
    ("net.ipv4.ip_forward", "1"),
    ("net.ipv4.conf.all.rp_filter", "1"),
    ("net.ipv4.conf.default.rp_filter", "1"),
    ("net.ipv4.conf.all.route_localnet", "1"),
    ("net.ipv6.conf.all.forwarding", "1"),
)
# The namespaces that route (docker-host, nodes) answer every packet they cannot deliver
# with its ICMP "destination unreachable", as a network of routers does: the kernel's
# default masks rate-limit that type to about one a second per source after a burst of
# six (all of a node's pods share its masqueraded address), so a check's unreachable
# pairs would wait out a timeout each. Only destination unreachable leaves the masks
# (IPv4 6168 = types 3, 4, 11, 12; IPv6 "0-1,3-127"): the other errors keep their limits.
ICMP_ANSWER_SYSCTLS = (
    ("net.ipv4.icmp_ratemask", str(6168 & ~(1 << 3))),
    ("net.ipv6.icmp.ratemask", "0,3-127"),
)
# Namespaces that forward IPv6 skip duplicate address detection on every link: while a
# link-local address is tentative (about 2 s after the link comes up) the kernel sends no
# neighbour solicitation for forwarded packets, so a fresh scenario would drop them.
# (Our own addresses are added with nodad, as Docker adds its containers'.)
# The links of a namespace on a network without IPv6 (docker-host, nodes, hosts: what
# sits on the bridges) get no IPv6 (`lo` keeps ::1): their link-local chatter (duplicate
# address detection, MLD reports) is multicast, which a bridge floods to every other port,
# so it grew with the square of the nodes (after `up` of 10,000 namespaces, 6,000 packets
# flooded to 1,000 ports for ~40 s: a third of the probe rate).
IPV4_ONLY_SYSCTLS = (("net.ipv6.conf.default.disable_ipv6", "1"),)
IPV6_FORWARDER_SYSCTLS = (
    ("net.ipv6.conf.all.accept_dad", "0"),
    ("net.ipv6.conf.default.accept_dad", "0"),
)


class NetnsPlan(ops.Plan[ops.Op]):
    """The netns runtime's plan: also which namespaces and files it makes (recorded in the
    state before they are made)."""

    def namespaces(self) -> list[str]:
        return [op.ns for op in self.ops if isinstance(op, ops.CreateNamespace)]

    def files(self) -> list[str]:
        return [op.path for op in self.ops if isinstance(op, ops.WriteFile)]


def plan(topology: Topology) -> NetnsPlan:
    steps: list = []
    steps += _namespaces(topology)
    steps += _docker_host(topology)
    for cluster in topology.clusters:
        for node in cluster.nodes:
            steps += _node(topology, node)
            for pod in node.pods:
                steps += _pod(node, pod)
        if cluster.dns_pod is not None:
            steps += _pod(topology.node(cluster.dns_pod.node), cluster.dns_pod)
    for host in topology.hosts:
        steps += _host(topology, host)
    steps += routing.routes(topology)
    steps += neighbours.neighbours(topology, [op for op in steps if isinstance(op, ops.Route)])
    steps += rules.rulesets(topology)
    steps += service_steps.steps(topology)
    # NetworkPolicy's and impairments' planners (and their models) are loaded only for a
    # scenario that has some: most of a small scenario's `up` is its imports.
    if any(cluster.policies for cluster in topology.clusters):
        from ...plan import netpol_rules
        for cluster in topology.clusters:
            steps += netpol_rules.rulesets(cluster)
    if topology.impairments:
        from ...plan import link_faults
        steps += link_faults.plan_links(topology, topology.impairments)
    steps.append(_workloads(topology))
    # Stable sort: phase order first, the order above within a phase.
    steps.sort(key=lambda op: op.phase)
    return NetnsPlan(topology.scenario, tuple(steps))


def _namespaces(topology: Topology) -> list:
    """Every namespace, marked as the scenario's; `lo` comes up with it."""
    mark = ownership_mark(topology.scenario)
    found = [ops.CreateNamespace(topology.docker_host.netns, topo.DOCKER_HOST, "docker-host", mark)]
    for node in topology.nodes:
        found.append(ops.CreateNamespace(node.netns, node.name, "node", mark))
        found += [ops.CreateNamespace(p.netns, p.name, "pod", mark) for p in node.pods]
    found += [ops.CreateNamespace(c.dns_pod.netns, c.dns_pod.name, "pod", mark)
              for c in topology.clusters if c.dns_pod is not None]
    found += [ops.CreateNamespace(h.netns, h.name, "host", mark) for h in topology.hosts]
    return found


def _docker_host(topology: Topology) -> list:
    ns = topology.docker_host.netns
    steps: list = [ops.Sysctl(ns, "net.ipv4.ip_forward", "1"),
                   ops.Sysctl(ns, "net.ipv6.conf.all.forwarding", "1")]
    steps += [ops.Sysctl(ns, key, value) for key, value in ICMP_ANSWER_SYSCTLS]
    if any(subnet.version == 6 for network in topology.networks for subnet in network.subnets):
        steps += [ops.Sysctl(ns, key, value) for key, value in IPV6_FORWARDER_SYSCTLS]
    else:
        steps += [ops.Sysctl(ns, key, value) for key, value in IPV4_ONLY_SYSCTLS]
    for network in topology.networks:
        steps.append(ops.Bridge(ns, network.bridge, network.name, neighbours.bridge_mac(network)))
        for subnet, gateway in zip(network.subnets, network.gateways):
            steps.append(ops.Address(ns, network.bridge, f"{gateway}/{subnet.prefixlen}"))
    return steps


def _attach(topology: Topology, ns: str, attachment: topo.Attachment) -> list:
    """An interface on a network: a veth whose peer is a port of the network's bridge."""
    network = topology.network(attachment.network)
    steps: list = [ops.Veth(ns, attachment.ifname, topology.docker_host.netns, attachment.peer,
                            network.bridge, neighbours.attachment_mac(attachment),
                            neighbours.port_mac(attachment))]
    for address, subnet in zip(attachment.addresses, network.subnets):
        steps.append(ops.Address(ns, attachment.ifname, f"{address}/{subnet.prefixlen}"))
    return steps


def _node(topology: Topology, node: Node) -> list:
    steps: list = [ops.Sysctl(node.netns, key, value) for key, value in NODE_SYSCTLS + ICMP_ANSWER_SYSCTLS]
    forwarder = IPV6_FORWARDER_SYSCTLS if _has_ipv6(node) else IPV4_ONLY_SYSCTLS
    steps += [ops.Sysctl(node.netns, key, value) for key, value in forwarder]
    for attachment in node.attachments:
        steps += _attach(topology, node.netns, attachment)
    for loopback in node.loopbacks:
        steps.append(ops.Address(node.netns, "lo", f"{loopback}/{loopback.max_prefixlen}"))
    steps += _ipv6_loopback_proxies(node)
    kind = topology.networks[0]
    for gateway in kind.gateways:
        steps.append(ops.Route(node.netns, "default", str(gateway), "eth0", family=gateway.version,
                               comment="docker: default route via the network's gateway"))
    for route in node.static_routes:
        steps.append(ops.Route(node.netns, str(route.to), str(route.via), family=route.to.version,
                               comment="nodes[].routes"))
    return steps


def _pod(node: Node, pod: topo.Pod) -> list:
    """CNI ptp, as kindnet configures it: veth, /32 on the pod, gateway /32 on the node."""
    steps: list = [ops.Veth(pod.netns, "eth0", node.netns, pod.host_ifname,
                            mac=neighbours.pod_mac(pod), peer_mac=neighbours.pod_peer_mac(pod))]
    for address, gateway in zip(pod.addresses, pod.gateways):
        bits = address.max_prefixlen
        steps += [
            ops.Address(pod.netns, "eth0", f"{address}/{bits}"),
            ops.Address(node.netns, pod.host_ifname, f"{gateway}/{bits}"),
            ops.Route(pod.netns, f"{gateway}/{bits}", dev="eth0", scope="link", family=address.version),
            ops.Route(pod.netns, "default", str(gateway), "eth0", family=address.version,
                      comment="ptp: the pod's default route via its node"),
            ops.Route(node.netns, f"{address}/{bits}", dev=pod.host_ifname, scope="link",
                      family=address.version, comment=f"ptp: {pod.name}"),
        ]
    return steps


def _host(topology: Topology, host: topo.Host) -> list:
    addresses = [a for attachment in host.attachments for a in attachment.addresses]
    steps: list = [] if any(a.version == 6 for a in addresses) else \
        [ops.Sysctl(host.netns, key, value) for key, value in IPV4_ONLY_SYSCTLS]
    for attachment in host.attachments:
        steps += _attach(topology, host.netns, attachment)
    primary = topology.network(host.attachments[0].network)
    for gateway in primary.gateways:
        steps.append(ops.Route(host.netns, "default", str(gateway), host.attachments[0].ifname,
                               family=gateway.version,
                               comment="docker: default route via the primary network's gateway"))
    return steps


def _workloads(topology: Topology) -> ops.StartWorkloads:
    ports = service_steps.pod_ports(topology)
    listeners = [ops.Listener(pod.netns, pod.name, _served(ports[pod.name], pod, "TCP"), _served((), pod, "UDP"))
                 for pod in topology.pods]
    listeners += [ops.Listener(node.netns, node.name, (PROBE_PORT,)) for node in topology.nodes]
    listeners += [ops.Listener(host.netns, host.name, (PROBE_PORT,)) for host in topology.hosts]
    listeners.append(ops.Listener(topology.docker_host.netns, topo.DOCKER_HOST, (PROBE_PORT,)))
    return ops.StartWorkloads(tuple(listeners), service_steps.dns_servers(topology))

def _served(ports: tuple[int, ...], pod: topo.Pod, protocol: str) -> tuple[int, ...]:
    """`ports` and the workload pod's own ports of this protocol (SCTP: refused at `up`)."""
    return tuple(dict.fromkeys(ports + tuple(p.port for p in pod.ports if p.protocol == protocol)))


def _ipv6_loopback_proxies(node: Node) -> list:
    """Neighbours reach a node's loopbacks on-link (see routing.py). IPv4 answers ARP for
    any local address (arp_ignore=0); IPv6 answers only for addresses on the link, so the
    node proxies NDP for its IPv6 loopbacks on each of its interfaces."""
    loopbacks = [str(a) for a in node.loopbacks if a.version == 6]
    if not loopbacks:
        return []
    steps: list = [ops.Sysctl(node.netns, "net.ipv6.conf.all.proxy_ndp", "1")]
    for attachment in node.attachments:
        steps += [ops.NeighProxy(node.netns, attachment.ifname, address) for address in loopbacks]
    return steps


def _has_ipv6(node: Node) -> bool:
    addresses = [a for attachment in node.attachments for a in attachment.addresses]
    addresses += list(node.loopbacks) + [a for pod in node.pods for a in pod.addresses]
    return any(a.version == 6 for a in addresses)
