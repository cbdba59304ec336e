"""Scaled scenarios for the benchmark, generated (not hand-written): C clusters of N nodes
with P pods each.

Up to 500 namespaces all clusters are interconnected (the page's loop among every
cluster) and every pod probes one pod of every cluster. From 1,000 on, the clusters have
20 nodes each and are interconnected in pairs (c0-c1, c2-c3, ...; an odd last one with
c0), so that routes grow with the namespaces, not with their square; every pod probes
one pod of its own cluster, one of its partner and one of a cluster it has no route to
(a third of the probes, `reachable: false`: docker-host answers "network unreachable").

Namespaces: 1 (docker-host) + C*N nodes + C*N*P pods + C CoreDNS pods (every cluster
has one, as KIND's).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

# name -> (clusters, nodes per cluster, pods per node, interconnected in pairs): about as
# many namespaces as the name says.
SIZES = {
    100: (2, 5, 9, False),
    250: (5, 5, 9, False),
    500: (5, 10, 9, False),
    1000: (5, 20, 9, True),
    2000: (10, 20, 9, True),
    5000: (25, 20, 9, True),
    10000: (50, 20, 9, True),
}


@dataclass(frozen=True)
class Shape:
    clusters: int
    nodes: int  # per cluster
    pods: int  # per node
    paired: bool = False  # interconnected in pairs (else all with all)

    @property
    def namespaces(self) -> int:
        return 1 + self.clusters * self.nodes * (1 + self.pods) + self.clusters

    @property
    def pod_count(self) -> int:
        return self.clusters * self.nodes * self.pods

    @property
    def targets(self) -> int:
        """Clusters each pod probes one pod of."""
        return 3 if self.paired else self.clusters

    @property
    def probes(self) -> int:
        """What the generated `expect` makes `check` send: each pod to one pod per target
        cluster (its own cluster's control-plane pod1 too, unless it is that pod)."""
        return self.pod_count * self.targets - self.clusters

    @property
    def unreachable(self) -> int:
        """Of those, the probes to a cluster without a route to it."""
        return self.pod_count if self.paired else 0

    @property
    def routes(self) -> int:
        """Routes the plan installs: kindnet + interconnect (every other reachable node's
        podCIDR), each node's default route and one route per pod on it (CoreDNS's too);
        each pod's two."""
        nodes = self.clusters * self.nodes
        pods = self.pod_count + self.clusters
        links = sum(len(p) for p in partners(self).values()) if self.paired else self.clusters * (self.clusters - 1)
        return nodes * (self.nodes - 1) + links * self.nodes * self.nodes + nodes + 3 * pods


def shape(size: int) -> Shape:
    return Shape(*SIZES[size])


def partners(shape: Shape) -> dict[int, set[int]]:
    """Cluster index -> the clusters it is interconnected with (in pairs)."""
    found: dict[int, set[int]] = {i: set() for i in range(shape.clusters)}
    for one in range(0, shape.clusters, 2):
        other = one + 1 if one + 1 < shape.clusters else 0
        if other != one:
            found[one].add(other)
            found[other].add(one)
    return found


def _expectations(shape: Shape, clusters: list[str]) -> list[dict]:
    def expect(source: str, target: str, reachable: bool) -> dict:
        found = {"from": f"{source}/pods", "to": f"{target}-control-plane/pod1", "reachable": reachable}
        return found | ({"sourcePreserved": True} if reachable else {})
    if not shape.paired:
        return [expect(s, t, True) for s in clusters for t in clusters]
    found = []
    pairs = partners(shape)
    for index, source in enumerate(clusters):
        partner = min(pairs[index])
        isolated = next(i for i in range(index + 2, index + 2 + shape.clusters)
                        if i % shape.clusters not in pairs[index] | {index}) % shape.clusters
        found += [expect(source, source, True), expect(source, clusters[partner], True),
                  expect(source, clusters[isolated], False)]
    return found


def _interconnect(shape: Shape, clusters: list[str]) -> list[dict]:
    if not shape.paired:
        return [{"clusters": ["*"]}]
    return [{"clusters": [clusters[one], clusters[other]]}
            for one, others in partners(shape).items() for other in sorted(others) if one < other]


def scenario(name: str, shape: Shape) -> dict:
    clusters = [f"c{i}" for i in range(shape.clusters)]
    nodes = [{"role": "control-plane"}] + [{"role": "worker"}] * (shape.nodes - 1)
    doc = {
        "apiVersion": "kindscape/v1alpha1",
        "kind": "Scenario",
        "name": name,
        "clusters": [
            {"name": cluster,
             "config": {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
                        "networking": {"podSubnet": f"10.{100 + i}.0.0/16",
                                       "serviceSubnet": f"10.{200 + i}.0.0/16"},
                        "nodes": nodes},
             "podsPerNode": shape.pods}
            for i, cluster in enumerate(clusters)],
        "interconnect": _interconnect(shape, clusters),
        "expect": _expectations(shape, clusters),
    }
    return doc


def write(path: str, name: str, shape: Shape) -> None:
    with open(path, "w") as handle:
        yaml.safe_dump(scenario(name, shape), handle, sort_keys=False)
