"""What only exists once the clusters do: addresses Docker picked, podCIDRs Kubernetes
picked, the pods' network namespaces. Looked up (and cached) here; turned into the
scenario's real topology, which `check`, `status` and `exec` then use.

Endpoints of the real topology live in containers (topology.py's locations): `InContainer(name)` (a
node or host container), `InContainer(node, netns)` (a pod's namespace inside its node,
as containerd named it), `HostNamespace()` (the Docker host itself); a location becomes
a path only when used (a restarted container has a new pid).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import replace

from ...errors import CommandFailed, RuntimeFailure
from ...topology import HostNamespace, InContainer, Location
from ...runner import run
from ...topology import Attachment, Node, Topology
from .docker_side import DockerSide
from .kubectl import Kubectl, NodeStatus, PodStatus
from .ops import (PROBE_SELECTOR, ContainerGateway, ContainerIP, HostVeth, PodCIDR, PodIP, Ref,
                  Value)

DOCKER_HOST_NS = HostNamespace()


def container_ns(container: str, netns: str = "") -> InContainer:
    return InContainer(container, netns)


def netns_path(docker: DockerSide, where: Location, pids: dict[str, int] | None = None) -> str:
    """The path of an endpoint's network namespace, as seen from the Docker host (`pids`:
    containers' pids already looked up, e.g. a node's for each of its pods)."""
    if isinstance(where, HostNamespace):
        return "/proc/self/ns/net"
    if not isinstance(where, InContainer):
        raise RuntimeFailure(f"not a kind runtime endpoint: {where}")
    pids = {} if pids is None else pids
    if where.container not in pids:
        pids[where.container] = docker.pid(where.container)
    pid = pids[where.container]
    # /run, not /var/run: an absolute symlink inside the container would resolve on the host.
    return f"/proc/{pid}/root/run/netns/{where.netns}" if where.netns else f"/proc/{pid}/ns/net"


class Facts:
    def __init__(self, docker: DockerSide, kube: Callable[[str], Kubectl], topology: Topology):
        self.docker = docker
        self.kube = kube
        self.topology = topology
        self.known: dict[Ref, str] = {}
        self.nodes: dict[str, dict[str, NodeStatus]] = {}
        self.pods: dict[tuple[str, str], dict] = {}  # (cluster, namespace) -> probe pods by name
        self.node_reads: dict[tuple[str, str], dict[str, str]] = {}  # (what, node) -> parsed output

    def value(self, value: Value) -> str:
        if isinstance(value, str):
            return value
        if value not in self.known:
            self.known[value] = self._look_up(value)
        return self.known[value]

    def _look_up(self, ref: Ref) -> str:
        if isinstance(ref, ContainerIP):
            return self.docker.address(ref.container, ref.network, ref.family)
        if isinstance(ref, ContainerGateway):
            return self.docker.gateway(ref.container, ref.network, ref.family)
        if isinstance(ref, PodCIDR):
            cidrs = self.cluster_nodes(ref.cluster)[ref.node].pod_cidrs
            if ref.index >= len(cidrs):
                raise RuntimeFailure(f"node {ref.node} has no podCIDR number {ref.index + 1}")
            return cidrs[ref.index]
        if isinstance(ref, PodIP):
            return self._pod_ip(ref)
        if isinstance(ref, HostVeth):
            return self.host_end(ref.container, ref.ifname)
        done = self.docker.exec(ref.node, ref.argv())
        image = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
        if done.returncode != 0 or not image:
            raise RuntimeFailure(f"{ref.lookup()}: no sandbox image found on {ref.node} "
                                 "(set KINDSCAPE_PROBE_IMAGE)")
        return image

    def probe_pods(self, cluster: str, namespace: str, fresh: bool = False) -> dict:
        """A cluster's probe pods in a namespace, by name (asked once; `fresh` asks again)."""
        if fresh or (cluster, namespace) not in self.pods:
            self.pods[(cluster, namespace)] = self.kube(cluster).pods(namespace, PROBE_SELECTOR)
        return self.pods[(cluster, namespace)]

    def _pod_ip(self, ref: PodIP) -> str:
        found = self.probe_pods(ref.cluster, ref.namespace).get(ref.pod)
        if found is None or len(found.ips) <= ref.index:
            raise RuntimeFailure(f"{ref.lookup()}: probe pod {ref.pod} has no address number {ref.index + 1}")
        return found.ips[ref.index]

    def interface(self, container: str, address: str) -> tuple[str, str]:
        """(the container's interface that holds `address`, the Docker host's end of it):
        what impairments are applied to (Docker picks both names)."""
        path = netns_path(self.docker, container_ns(container))
        try:
            found = run(["nsenter", f"--net={path}", "ip", "-o", "addr", "show", "to", address]).stdout
        except CommandFailed as exc:
            raise RuntimeFailure(f"{container}: cannot read its interfaces ({exc.stderr.strip()})") from None
        if not found.strip():
            raise RuntimeFailure(f"{container}: no veth interface holds {address}")
        ifname = found.split()[1]
        return ifname, self.host_end(container, ifname)

    def host_end(self, container: str, ifname: str) -> str:
        """The Docker host's end of a container's veth interface (Docker names it)."""
        path = netns_path(self.docker, container_ns(container))
        try:
            link = run(["nsenter", f"--net={path}", "ip", "-o", "link", "show", "dev", ifname]).stdout
        except CommandFailed as exc:
            raise RuntimeFailure(f"{container}: cannot read its interface {ifname} "
                                 f"({exc.stderr.strip()})") from None
        peer = re.search(r"^\d+: [^@:]+@if(\d+):", link)
        if not peer:
            raise RuntimeFailure(f"{container}: {ifname} is not a veth interface")
        try:
            return socket.if_indextoname(int(peer.group(1)))
        except OSError:
            raise RuntimeFailure(f"{container}: the peer of {ifname} (index {peer.group(1)}) is not in this "
                                 "machine's namespace") from None

    def cluster_nodes(self, cluster: str) -> dict[str, NodeStatus]:
        if cluster not in self.nodes:
            names = [n.name for n in self.topology.cluster(cluster).nodes]
            self.nodes[cluster] = self.kube(cluster).nodes_with_cidrs(names)
        return self.nodes[cluster]

    def pod_netns(self, node: str, address: str) -> str:
        """The namespace of the pod that has `address`, found as CNI ptp wires it: the
        node's /32 route to the pod names the veth, whose peer's netns id names the
        namespace file (`ip netns list`). The node's links and namespaces are read once."""
        route = self._exec(node, ["ip", "-o", "route", "get", address])
        device = re.search(r"\bdev (\S+)", route)
        if not device:
            raise RuntimeFailure(f"{node}: no route to pod {address}")
        link = self._node_links(node).get(device.group(1), "")
        named = re.search(r"link-netns (\S+)", link)  # iproute2 names it when it can
        if named:
            return named.group(1)
        nsid = re.search(r"link-netnsid (\d+)", link)
        if not nsid:
            raise RuntimeFailure(f"{node}: {device.group(1)} (to pod {address}) has no peer namespace")
        found = self._node_netns_ids(node).get(nsid.group(1))
        if found is None:
            raise RuntimeFailure(f"{node}: no namespace with id {nsid.group(1)} (pod {address})")
        return found

    def _node_links(self, node: str) -> dict[str, str]:
        """`ip -o link show` of a node, by device name (without its @peer suffix)."""
        if ("links", node) not in self.node_reads:
            links = {}
            for line in self._exec(node, ["ip", "-o", "link", "show"]).splitlines():
                match = re.match(r"\d+: ([^:@\s]+)", line)
                if match:
                    links[match.group(1)] = line
            self.node_reads[("links", node)] = links
        return self.node_reads[("links", node)]

    def _node_netns_ids(self, node: str) -> dict[str, str]:
        """`ip netns list` of a node: namespace name by netns id."""
        if ("netns", node) not in self.node_reads:
            ids = {}
            for line in self._exec(node, ["ip", "netns", "list"]).splitlines():
                match = re.match(r"(\S+) \(id: (\d+)\)", line.strip())
                if match:
                    ids[match.group(2)] = match.group(1)
            self.node_reads[("netns", node)] = ids
        return self.node_reads[("netns", node)]

    def _exec(self, container: str, argv: list[str]) -> str:
        done = self.docker.exec(container, argv)
        if done.returncode != 0:
            raise RuntimeFailure(f"docker exec {container} {' '.join(argv)}: {done.stderr.strip()}")
        return done.stdout


def real_topology(topology: Topology, facts: Facts, kind_network: str,
                  pods: dict[str, PodStatus], host_containers: dict[str, str],
                  load_balancers: dict[tuple[str, str, str], tuple[str, ...]]) -> Topology:
    """The topology with what Docker and Kubernetes really gave: addresses, podCIDRs, pod
    IPs, every endpoint's namespace and interfaces, LoadBalancer addresses (keyed by
    cluster, namespace, name). CoreDNS is the cluster's own: no emulated DNS pod."""
    clusters = []
    for cluster in topology.clusters:
        statuses = facts.cluster_nodes(cluster.name)
        nodes = tuple(_real_node(node, statuses[node.name], facts, kind_network, pods) for node in cluster.nodes)
        services = tuple(replace(s, announced_by=None, load_balancer_ips=tuple(
            ipaddress.ip_address(a) for a in load_balancers.get((cluster.name, s.namespace, s.name), ())))
            for s in cluster.services)
        clusters.append(replace(cluster, nodes=nodes, services=services, dns_pod=None))
    hosts = tuple(replace(h, netns=container_ns(host_containers[h.name]),
                          attachments=tuple(_real_attachment(a, host_containers[h.name], facts, kind_network)
                                            for a in h.attachments))
                  for h in topology.hosts)
    networks = tuple(_real_network(n, facts.docker, kind_network) for n in topology.networks)
    return replace(topology, networks=networks, clusters=tuple(clusters), hosts=hosts,
                   docker_host=replace(topology.docker_host, netns=DOCKER_HOST_NS))


def _real_node(node: Node, status: NodeStatus, facts: Facts, kind_network: str,
               pods: dict[str, PodStatus]) -> Node:
    attachments = tuple(_real_attachment(a, node.name, facts, kind_network) for a in node.attachments)
    # The InternalIP: the node's address on `kind` (Docker picked it), or the one its
    # restarted kubelet reports (up waited for it: waits.py).
    internal = attachments[0].addresses if node.node_address == "primary" else \
        tuple(ipaddress.ip_address(a) for a in status.internal_ips)
    cidrs = tuple(ipaddress.ip_network(c) for c in status.pod_cidrs)
    real_pods = []
    for pod in node.pods:
        found = pods.get(pod.name)
        if found is None or not found.ips:
            raise RuntimeFailure(f"probe pod for {pod.name} has no IP")
        netns = facts.pod_netns(node.name, found.ips[0])
        addresses = tuple(ipaddress.ip_address(a) for a in found.ips)
        gateways = tuple(c[1] for c in cidrs)
        real_pods.append(replace(pod, netns=container_ns(node.name, netns), addresses=addresses,
                                 gateways=gateways))
    return replace(node, netns=container_ns(node.name), attachments=attachments, internal_ips=internal,
                   pod_cidrs=cidrs, pods=tuple(real_pods))


def _real_attachment(attachment: Attachment, container: str, facts: Facts, kind_network: str) -> Attachment:
    network = kind_network if attachment.network == "kind" else attachment.network
    addresses = tuple(ipaddress.ip_address(facts.value(ContainerIP(container, network, a.version)))
                      for a in attachment.addresses)
    ifname, peer = facts.interface(container, str(addresses[0]))
    return replace(attachment, addresses=addresses, ifname=ifname, peer=peer)


def _real_network(network, docker: DockerSide, kind_network: str):
    """The network's subnets as Docker made them, in the scenario's families only (KIND's
    `kind` has an IPv6 subnet also under IPv4-only clusters), one gateway per subnet (Docker
    lists none for a subnet whose gateway it chose: the subnet's first address)."""
    found = docker.network(kind_network if network.name == "kind" else network.name)
    if found is None:
        return network
    config = (found.attrs.get("IPAM") or {}).get("Config") or []
    subnets, gateways = [], []
    for planned in network.subnets:
        entry = next((c for c in config if c.get("Subnet") and
                      ipaddress.ip_network(c["Subnet"]).version == planned.version), None)
        if entry is None:
            continue
        subnet = ipaddress.ip_network(entry["Subnet"])
        subnets.append(subnet)
        gateways.append(ipaddress.ip_address(entry["Gateway"]) if entry.get("Gateway") else subnet[1])
    if not subnets:
        return network
    return replace(network, subnets=tuple(subnets), gateways=tuple(gateways))

