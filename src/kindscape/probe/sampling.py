"""`check` without expectations probes each class of equivalent pairs once.

Two pairs are equivalent when the plan treats them alike: everything that decides how a
packet goes - routes, NAT, the nft rules of kindnet, kube-proxy, Docker and
NetworkPolicy, impairments and partitions - depends on a pair only through the facts of
`Classifier.side`: the endpoint's node (routes, masquerade, impairment and partition
sides are a cluster, node, host or network: never part of a node), a pod's cluster,
namespace, labels and named ports (what policies select), and on which side of every
policy `ipBlock` (and its `except`s) its address falls; and through the family, port and
protocol. The probe of one member stands for all (`represents`); `check --all` probes
every pair.

`Classifier.side` is the one place that says what makes endpoints equivalent: a new kind
of rule that looks at something else of a pod or an address must add that fact there.

Classes are formed from groups of equivalent sources and targets, never pair by pair:
10,000 namespaces have ~90 million pairs but ~2 million classes (node pairs).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..topology import DOCKER_HOST, Endpoint, Topology
from .prober import ProbeTask

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Classifier:
    """The facts of each endpoint of a topology, computed once for all pairs."""

    def __init__(self, topology: Topology):
        self.facts: dict[str, tuple] = {DOCKER_HOST: ("docker-host",)}
        for cluster in topology.clusters:
            for node in cluster.nodes:
                self.facts[node.name] = ("node", node.name)
                for pod in node.pods:
                    self.facts[pod.name] = ("pod", node.name, cluster.name, pod.namespace,
                                            tuple(sorted(pod.labels)), pod.ports)
        for host in topology.hosts:
            self.facts[host.name] = ("host", host.name)
        self.blocks = _ip_blocks(topology)

    def side(self, name: str, address: Address | None) -> tuple:
        """What the plan can tell this endpoint apart by, sending or answering from `address`."""
        blocks = tuple(address is not None and block.contains(address) for block in self.blocks)
        return self.facts.get(name, ("other", name)) + (blocks,)

    def pair_class(self, task: ProbeTask, source: Endpoint) -> tuple:
        """The class of one pair (what `classes` groups by), for tests and callers with tasks."""
        target = ipaddress.ip_address(task.address)
        sent_from = next((a for a in source.addresses if a.version == target.version), None)
        return (self.side(task.source, sent_from), self.side(task.target, target),
                target.version, task.port, task.protocol)


def _ip_blocks(topology: Topology) -> tuple:
    found = []
    for cluster in topology.clusters:
        for policy in cluster.policies:
            for rule in policy.ingress + policy.egress:
                found += [peer.ip_block for peer in rule.peers
                          if peer.ip_block is not None and peer.ip_block not in found]
    return tuple(found)


def classes(topology: Topology, sources: Iterable[Endpoint],
            targets: Iterable[Endpoint]) -> list[tuple[ProbeTask, int]]:
    """One probe per class of the pairs `checks.tasks_between(sources, targets)` makes,
    with the number of pairs it stands for."""
    classifier = Classifier(topology)
    senders: dict[tuple, list[Endpoint]] = {}
    for source in sources:
        for version in sorted({a.version for a in source.addresses}):
            address = next(a for a in source.addresses if a.version == version)
            key = (classifier.side(source.name, address), version)
            senders.setdefault(key, []).append(source)
    answerers: dict[tuple, list[tuple[Endpoint, Address]]] = {}
    for target in targets:
        for address in target.addresses:
            key = (classifier.side(target.name, address), address.version, target.port)
            answerers.setdefault(key, []).append((target, address))
    found = []
    for (_sent, version), group in senders.items():
        for (_answered, family, port), answering in answerers.items():
            if family == version:
                found += _class(group, answering, port)
    return found


def _class(group: list[Endpoint], answering: list[tuple[Endpoint, Address]],
           port: int) -> list[tuple[ProbeTask, int]]:
    """The class of every pair from `group` to `answering` (an endpoint reaching itself is
    no pair): its first pair and its size."""
    names = {source.name for source in group}
    count = len(group) * len(answering) - sum(1 for target, _ in answering if target.name in names)
    for source in group:
        for target, address in answering:
            if target.name != source.name:
                return [(ProbeTask(source.name, source.netns, target.name, str(address), port, "TCP"), count)]
    return []
