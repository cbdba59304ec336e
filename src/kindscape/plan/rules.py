"""nftables rulesets: kindnet's masquerade on every node, Docker's NAT and isolation in
docker-host. Each is one table applied atomically (`nft -f`) in its namespace."""

from __future__ import annotations

from ..topology import Cluster, Node, Topology
from . import neighbours, ops
from .routing import cluster_families, interconnected_pairs

KINDNET_TABLE = "kindnet"
DOCKER_TABLE = "docker"


def rulesets(topology: Topology) -> list[ops.Ruleset]:
    found = [_docker_host(topology)]
    exceptions = _no_masquerade(topology)
    for cluster in topology.clusters:
        for node in cluster.nodes:
            found.append(_kindnet(node, cluster, exceptions.get(cluster.name, [])))
    return found


def _no_masquerade(topology: Topology) -> dict[str, list]:
    """Remote podSubnets that interconnected clusters reach without NAT (`masquerade: false`)."""
    found: dict[str, list] = {}
    for cluster, remote, item in interconnected_pairs(topology):
        if item.pods and not item.masquerade:
            subnets = found.setdefault(cluster.name, [])
            subnets += [s for s in remote.pod_subnets
                        if s not in subnets and s.version in cluster_families(cluster)]
    return found


def _set(subnets) -> str:
    return "{ " + ", ".join(str(s) for s in subnets) + " }"


def _kindnet(node: Node, cluster: Cluster, remote: list) -> ops.Ruleset:
    """kindnet's KIND-MASQ-AGENT: traffic leaving the node for anything outside the
    cluster's podSubnet is masqueraded to the node's address; interconnected clusters'
    podSubnets are added as exceptions so pod source IPs survive."""
    lines = [f"table inet {KINDNET_TABLE} {{",
             "  chain postrouting {",
             "    type nat hook postrouting priority srcnat; policy accept;"]
    for version, keyword in ((4, "ip"), (6, "ip6")):
        own = [s for s in cluster.pod_subnets if s.version == version]
        other = [s for s in remote if s.version == version]
        if own:
            lines.append(f'    {keyword} daddr {_set(own)} return comment "KIND-MASQ-AGENT: cluster podSubnet"')
        if other:
            lines.append(f'    {keyword} daddr {_set(other)} return comment "interconnect: no masquerade"')
    lines += _masquerade(node, cluster) + ["  }", "}"]
    return ops.Ruleset(node.netns, KINDNET_TABLE, "\n".join(lines) + "\n",
                       f"kindnet masquerade on {node.name}")


def _masquerade(node: Node, cluster: Cluster) -> list[str]:
    """kindnet masquerades only in its cluster's families: an IPv6-only cluster's node on a
    dual-stack network has no IPv4 masquerade (and the other way round)."""
    comment = 'comment "KIND-MASQ-AGENT: outbound traffic is masqueraded"'
    families = cluster_families(cluster)
    mine = {a.version for attachment in node.attachments for a in attachment.addresses}
    if mine | {a.version for a in node.loopbacks} <= families:
        return [f"    masquerade {comment}"]
    return [f"    meta nfproto ipv{version} masquerade {comment}" for version in sorted(families)]


def _docker_host(topology: Topology) -> ops.Ruleset:
    """Docker's bridge networks: masquerade of traffic leaving a network (when
    enable_ip_masquerade), and isolation: no forwarding between two networks."""
    lines = [f"table inet {DOCKER_TABLE} {{",
             "  chain postrouting {",
             "    type nat hook postrouting priority srcnat; policy accept;"]
    for network in topology.networks:
        if not network.masquerade:
            continue
        for subnet in network.subnets:
            keyword = "ip" if subnet.version == 4 else "ip6"
            lines.append(f'    {keyword} saddr {subnet} oifname != "{network.bridge}" masquerade '
                         f'comment "network {network.name}: enable_ip_masquerade"')
    lines += ["  }"] + _no_route(topology) + [
              "  chain forward {", "    type filter hook forward priority filter; policy accept;"]
    for network in topology.networks:
        for other in topology.networks:
            if other.name != network.name:
                lines.append(f'    iifname "{network.bridge}" oifname "{other.bridge}" drop '
                             f'comment "docker isolation: {network.name} to {other.name}"')
    lines += ["  }", "}"]
    return ops.Ruleset(topology.docker_host.netns, DOCKER_TABLE, "\n".join(lines) + "\n",
                       "docker: network masquerade and isolation")


NO_ROUTE_RULE = "no route: network unreachable"


def _no_route(topology: Topology) -> list[str]:
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
    lines = ["  chain prerouting {", "    type filter hook prerouting priority filter; policy accept;"]
    for network in topology.networks:
        lines.append(f'    iifname "{network.bridge}" ether daddr {neighbours.bridge_mac(network)} '
                     f'fib daddr type != local fib daddr oif missing reject with icmpx type no-route comment "{NO_ROUTE_RULE}"')
    return lines + ["  }"]
