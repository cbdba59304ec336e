"""What Services add to a plan: kube-proxy's rules on every node, the LoadBalancer
addresses, the cluster DNS (server and the pods' resolv.conf), and the pods' listeners
on every targetPort of the Services that select them.

LoadBalancer addresses are announced as MetalLB's L2 mode does it: one node per address
holds it (a /32 or /128 on its `kind` interface), so it answers ARP/NDP for it on the
network; packets reaching any node for it are DNATed by kube-proxy's rules. That makes
the address reachable from every host on the `kind` network, as cloud-provider-kind's
are, without a proxy container.
"""

from __future__ import annotations

from ..topology import PROBE_PORT, Topology
from . import clusterdns, kubeproxy, linux_ops


def steps(topology: Topology) -> list:
    found: list = []
    for cluster in topology.clusters:
        for service in cluster.services:
            found += _announce(topology, service)
        found += kubeproxy.rulesets(cluster)
        found += clusterdns.resolv_conf_files(cluster, topology.scenario)
    return found


def announcing(topology: Topology, service):
    """(node, attachment) holding a Service's LoadBalancer addresses - the node that
    announces them (MetalLB's L2 mode), on its first interface - or None."""
    if not service.load_balancer_ips or service.announced_by is None:
        return None
    node = topology.node(service.announced_by)
    return node, node.attachments[0]


def _announce(topology: Topology, service) -> list[linux_ops.Address]:
    holder = announcing(topology, service)
    if holder is None:
        return []
    node, attachment = holder
    return [linux_ops.Address(node.netns, attachment.ifname, f"{address}/{address.max_prefixlen}")
            for address in service.load_balancer_ips]


def pod_ports(topology: Topology) -> dict[str, tuple[int, ...]]:
    """Each pod's listening ports: 8080, then every targetPort of the Services selecting it."""
    ports: dict[str, list[int]] = {pod.name: [PROBE_PORT] for pod in topology.pods}
    for cluster in topology.clusters:
        for service in cluster.services:
            for pod in service.backends:
                if service.target_port not in ports[pod]:
                    ports[pod].append(service.target_port)
    return {name: tuple(found) for name, found in ports.items()}


def dns_servers(topology: Topology) -> tuple[linux_ops.DnsServer, ...]:
    found = (clusterdns.server(cluster) for cluster in topology.clusters)
    return tuple(server for server in found if server is not None)
