"""The `status -o json` document of a scenario (the contract's shape, plus extensions)."""

from __future__ import annotations

from typing import Any

from ..state import ScenarioState
from ..topology import Cluster, Node, Topology


def _first(values) -> str | None:
    return str(values[0]) if values else None


def _addresses(attachments, extra: dict[str, Any] | None = None) -> dict[str, str]:
    found = {a.network: str(a.addresses[0]) for a in attachments if a.addresses}
    found.update(extra or {})
    return found


def node_json(node: Node) -> dict[str, Any]:
    loopback = {"loopback": str(node.loopbacks[0])} if node.loopbacks else {}
    return {
        "name": node.name, "role": node.role,
        "address": _first(node.internal_ips), "podCIDR": _first(node.pod_cidrs),
        "addresses": _addresses(node.attachments, loopback),
        # Extensions: every family (dual-stack), the namespace to `ip netns exec` into.
        "internalIPs": [str(a) for a in node.internal_ips],
        "podCIDRs": [str(c) for c in node.pod_cidrs],
        "netns": node.netns,
        "pods": [{"name": p.name, "address": _first(p.addresses),
                  "addresses": [str(a) for a in p.addresses], "netns": p.netns} for p in node.pods],
    }


def cluster_json(cluster: Cluster) -> dict[str, Any]:
    return {
        "name": cluster.name, "ipFamily": cluster.ip_family,
        "podSubnet": ",".join(map(str, cluster.pod_subnets)),
        "serviceSubnet": ",".join(map(str, cluster.service_subnets)),
        "dns": [str(a) for a in cluster.dns_ips],
        "nodes": [node_json(n) for n in cluster.nodes],
        "services": [{"name": s.name, "namespace": s.namespace, "type": s.type,
                      "clusterIP": _first(s.cluster_ips), "port": s.port,
                      "targetPort": s.target_port, "nodePort": s.node_port,
                      "loadBalancerIP": _first(s.load_balancer_ips),
                      "externalName": s.external_name, "backends": list(s.backends)}
                     for s in cluster.services],
    }


def status_json(topology: Topology, state: ScenarioState, health: list[str]) -> dict[str, Any]:
    from ..faults import current, problems
    health = health + problems(state)
    return {
        "name": topology.scenario,
        "runtime": state.runtime,
        "phase": state.phase,
        "healthy": not health,
        "problems": health,
        "source": state.source,
        "networks": [{"name": n.name, "subnet": ",".join(map(str, n.subnets)),
                      "gateway": _first(n.gateways), "bridge": n.bridge} for n in topology.networks],
        "clusters": [cluster_json(c) for c in topology.clusters],
        "hosts": [{"name": h.name, "addresses": _addresses(h.attachments), "netns": h.netns,
                   "routesTo": list(h.routes_to), "serviceRoutesTo": list(h.service_routes_to)}
                  for h in topology.hosts],
        "dockerHost": {"netns": topology.docker_host.netns,
                       "routesTo": list(topology.docker_host.routes_to),
                       "serviceRoutesTo": list(topology.docker_host.service_routes_to)},
        **current(state, topology).to_json(),  # "impairments", "partitions"
    }
