"""How the rulesets of `rules.py` decide a packet (see `decide.py`): kindnet's
KIND-MASQ-AGENT on every node, Docker's masquerade and isolation in docker-host.

Each decision names the rule by the comment `rules.py` gives it; a unit test and `trace`
itself (against the installed ruleset) check that the rule exists."""

from __future__ import annotations

from ..topology import Topology
from .decide import Action, Decision, Hook, Packet, Place
from .rules import DOCKER_TABLE, KINDNET_TABLE, _no_masquerade


def _node_cluster(topology: Topology, ns: str):
    for cluster in topology.clusters:
        for node in cluster.nodes:
            if node.netns == ns:
                return cluster
    return None


class KindnetMasquerade:
    """KIND-MASQ-AGENT: traffic leaving a node for anything outside its cluster's podSubnet
    (and outside interconnected clusters' podSubnets) is masqueraded to the node."""

    table = f"inet {KINDNET_TABLE}"

    def decide(self, topology: Topology, place: Place, hook: Hook, packet: Packet) -> Decision | None:
        if hook is not Hook.POSTROUTING or place.reply or place.role != "node":
            return None
        cluster = _node_cluster(topology, place.ns)
        if cluster is None:
            return None
        if any(packet.dst in subnet for subnet in cluster.pod_subnets):
            return Decision(self.table, "KIND-MASQ-AGENT: cluster podSubnet", Action.ACCEPT)
        remote = _no_masquerade(topology).get(cluster.name, [])
        if any(packet.dst in subnet for subnet in remote):
            return Decision(self.table, "interconnect: no masquerade", Action.ACCEPT)
        return Decision(self.table, "KIND-MASQ-AGENT: outbound traffic is masqueraded", Action.MASQUERADE)


class DockerNetworks:
    """Docker's bridge networks in docker-host: no forwarding from one network's bridge to
    another's (isolation), and masquerade of a network's traffic leaving it."""

    table = f"inet {DOCKER_TABLE}"

    def decide(self, topology: Topology, place: Place, hook: Hook, packet: Packet) -> Decision | None:
        if place.role != "docker-host":
            return None
        by_bridge = {n.bridge: n for n in topology.networks}
        if hook is Hook.FORWARD:
            source, target = by_bridge.get(place.iif), by_bridge.get(place.oif)
            if source and target and source.name != target.name:
                return Decision(self.table, f"docker isolation: {source.name} to {target.name}", Action.DROP)
            return None
        if hook is not Hook.POSTROUTING or place.reply or packet.src is None:
            return None
        for network in topology.networks:
            if not network.masquerade or place.oif == network.bridge:
                continue
            if any(packet.src in subnet for subnet in network.subnets if subnet.version == packet.src.version):
                return Decision(self.table, f"network {network.name}: enable_ip_masquerade",
                                Action.MASQUERADE)
        return None
