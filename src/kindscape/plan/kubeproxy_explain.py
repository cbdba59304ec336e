"""How kube-proxy's rules decide a packet (see `decide.py`): the `inet kube-proxy` table
every node of a cluster holds once Services are in (issue 4, `kubeproxy.py`), modelled on
kube-proxy's nftables mode.

- prerouting (through the node) and output (the node's own): a ClusterIP or LoadBalancer
  address at its port, or any local address of the node at a NodePort, is DNATed to a
  backend pod at the targetPort (kube-proxy picks one at random per connection: trace
  follows the first and lists them all);
- on the way it marks for masquerade (0x4000): traffic from outside the cluster's
  podSubnet, all NodePort and LoadBalancer traffic, a pod reaching itself;
- postrouting masquerades what is marked, so the reply comes back through the node.

kube-dns (the tenth address of the serviceSubnet, TCP and UDP 53) is a Service like any
other, backed by the cluster's CoreDNS pod. Rules are named by their nft comments."""

from __future__ import annotations

from ..topology import Cluster, IPAddr, Node, Topology
from . import kubeproxy
from .decide import Action, Decision, Hook, Packet, Place
from .kubeproxy import MASQ_MARK, ProxiedPort

TABLE = f"inet {kubeproxy.TABLE}"


def _name(port: ProxiedPort) -> str:
    """<namespace>/<name>, as the rules' comments say it."""
    return port.key.rsplit("/", 2)[0]


def _backends(port: ProxiedPort) -> tuple[IPAddr, ...]:
    return tuple(a for _, addresses in port.backends for a in addresses)


def _local(node: Node, cluster: Cluster) -> set[IPAddr]:
    """The node's own addresses (`fib daddr type local`)."""
    found = {a for attachment in node.attachments for a in attachment.addresses}
    found |= set(node.loopbacks) | {g for pod in node.pods for g in pod.gateways}
    found |= {a for s in cluster.services if s.announced_by == node.name
              for a in s.load_balancer_ips}
    return found


def _match(node: Node, cluster: Cluster, ports: list[ProxiedPort],
           packet: Packet) -> tuple[ProxiedPort, str, bool] | None:
    """The Service port a packet is for, the rule that catches it, and whether it is
    external traffic (NodePort, LoadBalancer), in the rules' order."""
    ports = [p for p in ports if p.protocol == packet.proto]
    for port in ports:
        if packet.dport == port.port and packet.dst in port.cluster_ips:
            return port, f"{_name(port)} cluster IP", False
        if packet.dport == port.port and packet.dst in port.lb_ips:
            return port, f"{_name(port)} loadbalancer IP", True
    for port in ports:
        if port.node_port is not None and packet.dport == port.node_port and packet.dst in _local(node, cluster):
            return port, f"{_name(port)} nodePort", True
    return None


class KubeProxy:
    table = TABLE

    def __init__(self) -> None:
        # The clusters' Service ports, made once per topology (a trace asks at every hop).
        self._ports: tuple[Topology | None, dict[str, list[ProxiedPort]]] = (None, {})

    def _ports_of(self, topology: Topology, cluster: Cluster) -> list[ProxiedPort]:
        seen, ports = self._ports
        if seen is not topology:
            self._ports = seen, ports = topology, {}
        if cluster.name not in ports:
            ports[cluster.name] = kubeproxy.proxied_ports(cluster)
        return ports[cluster.name]

    def decide(self, topology: Topology, place: Place, hook: Hook,
               packet: Packet) -> tuple[Decision, ...] | Decision | None:
        if place.role != "node" or place.reply:
            return None
        node = topology.node(place.endpoint)
        if node is None:
            return None
        if hook in (Hook.PREROUTING, Hook.OUTPUT):
            cluster = topology.cluster(node.cluster)
            return self._service(node, cluster, self._ports_of(topology, cluster), packet)
        if hook is Hook.POSTROUTING and packet.mark & MASQ_MARK:
            return Decision(TABLE, "KUBE-POSTROUTING: masquerade marked traffic", Action.MASQUERADE)
        return None

    def _service(self, node: Node, cluster: Cluster, ports: list[ProxiedPort],
                 packet: Packet) -> tuple[Decision, ...] | None:
        found = _match(node, cluster, ports, packet)
        if found is None:
            return None
        port, rule, external = found
        decisions = []
        outside = packet.src is not None and not any(
            packet.src in subnet for subnet in cluster.pod_subnets if subnet.version == packet.src.version)
        if external:
            decisions.append(Decision(TABLE, "external traffic: masquerade", Action.MARK, mark=MASQ_MARK))
        elif outside:
            decisions.append(Decision(TABLE, "from outside the podSubnet: masquerade", Action.MARK,
                                      mark=MASQ_MARK))
        backends = tuple((a, port.target_port) for a in _backends(port) if a.version == packet.dst.version)
        if not backends:
            return tuple(decisions) or None
        chosen = backends[0]
        if packet.src == chosen[0]:
            decisions.append(Decision(TABLE, "hairpin: the pod reaches itself", Action.MARK, mark=MASQ_MARK))
        decisions.append(Decision(TABLE, rule, Action.DNAT, chosen[0], chosen[1], backends))
        return tuple(decisions)
