"""`check` without expectations probes each class of equivalent pairs once.

Two pairs are equivalent when the plan treats them alike: everything that decides how a
packet goes - routes, NAT, the nft rules of kindnet, kube-proxy, Docker and
NetworkPolicy, impairments and partitions - depends on a pair only through the facts of
`pair_class`: the source and target node (routes, masquerade, impairment and partition
sides are a cluster, node, host or network: never part of a node), the pods' cluster,
namespace, labels and named ports (what policies select), the family, port and protocol,
and on which side of every policy `ipBlock` (and its `except`s) each address falls. The
probe of one member stands for all (`represents`); `check --all` probes every pair.

`pair_class` is the one place that says what makes pairs equivalent: a new kind of rule
that looks at something else of a pod or an address must add that fact here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..topology import DOCKER_HOST, Topology
from .prober import ProbeTask


class Classifier:
    """The facts of each endpoint of a topology, computed once for all pairs."""

    def __init__(self, topology: Topology):
        self.sides: dict[str, tuple] = {DOCKER_HOST: ("docker-host",)}
        self.addresses: dict[str, tuple] = {}
        for cluster in topology.clusters:
            for node in cluster.nodes:
                self.sides[node.name] = ("node", node.name)
                self.addresses[node.name] = node.internal_ips
                for pod in node.pods:
                    self.sides[pod.name] = ("pod", node.name, cluster.name, pod.namespace,
                                            tuple(sorted(pod.labels)), pod.ports)
                    self.addresses[pod.name] = pod.addresses
        for host in topology.hosts:
            self.sides[host.name] = ("host", host.name)
            self.addresses[host.name] = tuple(a for att in host.attachments for a in att.addresses)
        self.blocks = _ip_blocks(topology)

    def pair_class(self, task: ProbeTask) -> tuple:
        """What the plan can tell two pairs apart by (see the module's docstring)."""
        target = ipaddress.ip_address(task.address)
        source = next((a for a in self.addresses.get(task.source, ()) if a.version == target.version), None)
        sides = tuple((block.contains(source) if source is not None else None, block.contains(target))
                      for block in self.blocks)
        return (self.sides.get(task.source, ("other", task.source)),
                self.sides.get(task.target, ("other", task.target)),
                target.version, task.port, task.protocol, sides)


def _ip_blocks(topology: Topology) -> tuple:
    found = []
    for cluster in topology.clusters:
        for policy in cluster.policies:
            for rule in policy.ingress + policy.egress:
                found += [peer.ip_block for peer in rule.peers
                          if peer.ip_block is not None and peer.ip_block not in found]
    return tuple(found)


def classes(topology: Topology, tasks: Iterable[ProbeTask]) -> list[list[ProbeTask]]:
    """The tasks in classes of equivalent pairs, in the order of their first member."""
    classifier = Classifier(topology)
    found: dict[tuple, list[ProbeTask]] = {}
    for task in tasks:
        found.setdefault(classifier.pair_class(task), []).append(task)
    return list(found.values())
