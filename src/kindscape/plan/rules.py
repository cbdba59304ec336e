"""nftables rulesets: kindnet's masquerade on every node, Docker's NAT and isolation in
docker-host. Each is one table applied atomically (`nft -f`) in its namespace, described
once as data (nftables.py): the same description gives the text and trace's model
(rules_explain.py)."""

from __future__ import annotations

from ..topology import Cluster, IPNet, Node, Topology
from . import neighbours, linux_ops
from .hooks import Hook
from .nftables import Chain, DestinationIn, EtherDestination, Family, Interface, NoRoute, Rule, SourceIn, Table
from .routing import cluster_families, interconnected_pairs

KINDNET_TABLE = "kindnet"
DOCKER_TABLE = "docker"


def rulesets(topology: Topology) -> list[linux_ops.Ruleset]:
    return [linux_ops.Ruleset(ns, table.name, table.text(), comment) for ns, table, comment in described(topology)]


def described(topology: Topology) -> list[tuple[str, Table, str]]:
    """Every table with its namespace and what it is: Docker's, then kindnet's per node."""
    found = [(topology.docker_host.netns, docker_table(topology), "docker: network masquerade and isolation")]
    exceptions = masquerade_exceptions(topology)
    for cluster in topology.clusters:
        for node in cluster.nodes:
            found.append((node.netns, kindnet_table(node, cluster, exceptions.get(cluster.name, [])),
                          f"kindnet masquerade on {node.name}"))
    return found


def masquerade_exceptions(topology: Topology) -> dict[str, list[IPNet]]:
    """Remote podSubnets that interconnected clusters reach without NAT (`masquerade:
    false`), by cluster: kindnet must not masquerade traffic to them (both runtimes)."""
    found: dict[str, list] = {}
    for cluster, remote, item in interconnected_pairs(topology):
        if item.pods and not item.masquerade:
            subnets = found.setdefault(cluster.name, [])
            subnets += [s for s in remote.pod_subnets
                        if s not in subnets and s.version in cluster_families(cluster)]
    return found


def kindnet_table(node: Node, cluster: Cluster, remote: list[IPNet]) -> Table:
    """kindnet's KIND-MASQ-AGENT: traffic leaving the node for anything outside the
    cluster's podSubnet is masqueraded to the node's address; interconnected clusters'
    podSubnets are added as exceptions so pod source IPs survive."""
    rules = []
    for version in (4, 6):
        own = tuple(s for s in cluster.pod_subnets if s.version == version)
        other = tuple(s for s in remote if s.version == version)
        if own:
            rules.append(Rule((DestinationIn(own),), "return", "KIND-MASQ-AGENT: cluster podSubnet"))
        if other:
            rules.append(Rule((DestinationIn(other),), "return", "interconnect: no masquerade"))
    rules += _masquerade(node, cluster)
    return Table("inet", KINDNET_TABLE, (Chain("postrouting", "nat", Hook.POSTROUTING, "srcnat", tuple(rules)),))


def _masquerade(node: Node, cluster: Cluster) -> list[Rule]:
    """kindnet masquerades only in its cluster's families: an IPv6-only cluster's node on a
    dual-stack network has no IPv4 masquerade (and the other way round)."""
    comment = "KIND-MASQ-AGENT: outbound traffic is masqueraded"
    families = cluster_families(cluster)
    mine = {a.version for attachment in node.attachments for a in attachment.addresses}
    if mine | {a.version for a in node.loopbacks} <= families:
        return [Rule((), "masquerade", comment)]
    return [Rule((Family(version),), "masquerade", comment) for version in sorted(families)]


def docker_table(topology: Topology) -> Table:
    """Docker's bridge networks: masquerade of traffic leaving a network (when
    enable_ip_masquerade), and isolation: no forwarding between two networks."""
    masquerade = tuple(Rule((SourceIn(subnet), Interface("oif", network.bridge, negated=True)), "masquerade",
                            f"network {network.name}: enable_ip_masquerade")
                       for network in topology.networks if network.masquerade for subnet in network.subnets)
    isolation = tuple(Rule((Interface("iif", network.bridge), Interface("oif", other.bridge)), "drop",
                           f"docker isolation: {network.name} to {other.name}")
                      for network in topology.networks for other in topology.networks if other.name != network.name)
    return Table("inet", DOCKER_TABLE, (Chain("postrouting", "nat", Hook.POSTROUTING, "srcnat", masquerade),
                                        _no_route(topology),
                                        Chain("forward", "filter", Hook.FORWARD, "filter", isolation)))


NO_ROUTE_RULE = "no route: network unreachable"


def _no_route(topology: Topology) -> Chain:
    """docker-host answers a packet it has no route for with "network unreachable", as the
    kernel would, but from nftables: the kernel's own answer (ip_error) is rate-limited
    per source address by net.ipv4.route.error_cost/error_burst, which exist only in the
    machine's first namespace (one answer a second per node after a burst of five, since
    a node masquerades all its pods), and the machine's settings are not ours to change.
    nft's reject goes through the namespace's own ICMP limits (see the planner's
    ICMP_ANSWER_SYSCTLS). Packets with a route never match: trace's "no route" verdict
    stays the explanation. docker-host routes only what is sent to a bridge's own MAC
    address; what it bridges between two ports (which br_netfilter shows here too, as
    coming in on the bridge) is sent to another's and is never answered. (nft's fib finds
    no output interface for docker-host's own addresses either: they are delivered.)"""
    return Chain("prerouting", "filter", Hook.PREROUTING, "filter", tuple(
        Rule((Interface("iif", network.bridge), EtherDestination(neighbours.bridge_mac(network)), NoRoute()),
             "reject with icmpx type no-route", NO_ROUTE_RULE) for network in topology.networks))
