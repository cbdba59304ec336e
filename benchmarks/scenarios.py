"""Scaled scenarios for the benchmark, generated (not hand-written): C clusters of N nodes
with P pods each, all interconnected (the page's loop among every cluster), and
expectations that send a probe from every pod to one pod of every cluster.

Namespaces: 1 (docker-host) + C*N nodes + C*N*P pods + C CoreDNS pods (every cluster
has one, as KIND's). Routes grow with the square of the node count (every node routes
every other node's podCIDR).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

# name -> (clusters, nodes per cluster, pods per node): 100, 250, 500 and 1,000 namespaces
# (plus docker-host).
SIZES = {
    100: (2, 5, 9),
    250: (5, 5, 9),
    500: (5, 10, 9),
    1000: (10, 10, 9),
}


@dataclass(frozen=True)
class Shape:
    clusters: int
    nodes: int  # per cluster
    pods: int  # per node

    @property
    def namespaces(self) -> int:
        return 1 + self.clusters * self.nodes * (1 + self.pods) + self.clusters

    @property
    def pod_count(self) -> int:
        return self.clusters * self.nodes * self.pods

    @property
    def probes(self) -> int:
        """What the generated `expect` makes `check` send: each pod to one pod per cluster
        (its own cluster's control-plane pod1 too, unless it is that pod)."""
        return self.pod_count * self.clusters - self.clusters

    @property
    def routes(self) -> int:
        """Routes the plan installs: kindnet + interconnect (every other node's podCIDR),
        each node's default route and one route per pod on it (CoreDNS's too); each pod's two."""
        nodes = self.clusters * self.nodes
        pods = self.pod_count + self.clusters
        return nodes * (nodes - 1) + nodes + 3 * pods


def shape(size: int) -> Shape:
    return Shape(*SIZES[size])


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
        "interconnect": [{"clusters": ["*"]}],
        "expect": [{"from": f"{source}/pods", "to": f"{target}-control-plane/pod1",
                    "reachable": True, "sourcePreserved": True}
                   for source in clusters for target in clusters],
    }
    return doc


def write(path: str, name: str, shape: Shape) -> None:
    with open(path, "w") as handle:
        yaml.safe_dump(scenario(name, shape), handle, sort_keys=False)
