"""The `status -o json` document of a scenario (the contract's shape, plus extensions)."""

from __future__ import annotations

from typing import Any

from ..state import ScenarioState
from ..topology import Cluster, Node, Topology
from . import policy_tables as policies


def _first(values) -> str | None:
    return str(values[0]) if values else None


def _preferred(addresses, version: int | None) -> str:
    """The address of the preferred family (a node's primary family), else the first."""
    return str(next((a for a in addresses if a.version == version), addresses[0]))


def _addresses(attachments, extra: dict[str, Any] | None = None, version: int | None = None) -> dict[str, str]:
    found = {a.network: _preferred(a.addresses, version) for a in attachments if a.addresses}
    found.update(extra or {})
    return found


def _address_lists(attachments, loopbacks=()) -> dict[str, list[str]]:
    """Every family: network (and `loopback`) -> its addresses there (extension)."""
    found = {a.network: [str(x) for x in a.addresses] for a in attachments}
    if loopbacks:
        found["loopback"] = [str(x) for x in loopbacks]
    return found


def node_json(node: Node) -> dict[str, Any]:
    version = node.internal_ips[0].version if node.internal_ips else None
    loopback = {"loopback": _preferred(node.loopbacks, version)} if node.loopbacks else {}
    return {
        "name": node.name, "role": node.role,
        "address": _first(node.internal_ips), "podCIDR": _first(node.pod_cidrs),
        "addresses": _addresses(node.attachments, loopback, version),
        "networkAddresses": _address_lists(node.attachments, node.loopbacks),
        # Extensions: every family (dual-stack), the namespace to `ip netns exec` into.
        "internalIPs": [str(a) for a in node.internal_ips],
        "podCIDRs": [str(c) for c in node.pod_cidrs],
        "netns": node.netns,
        "pods": [{"name": p.name, "address": _first(p.addresses), "namespace": p.namespace,
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
                      "externalName": s.external_name, "backends": list(s.backends),
                      # Extensions: every family, and the node answering ARP for the LB address.
                      "clusterIPs": [str(a) for a in s.cluster_ips],
                      "loadBalancerNode": s.announced_by}
                     for s in cluster.services],
        **policies.cluster_json(cluster),  # namespaces, workloads, networkPolicies
    }


def status_json(topology: Topology, state: ScenarioState, health: list[str]) -> dict[str, Any]:
    from ..links import current, problems
    health = health + problems(state)
    return {
        "name": topology.scenario,
        "runtime": state.runtime,
        "phase": state.phase,
        "healthy": not health,
        "problems": health,
        "source": state.source,
        "networks": [{"name": n.name, "subnet": ",".join(map(str, n.subnets)),
                      # As the file writes them: one per family, comma-separated (dual-stack).
                      "gateway": ",".join(map(str, n.gateways)) or None,
                      "bridge": n.bridge} for n in topology.networks],
        "clusters": [cluster_json(c) for c in topology.clusters],
        "hosts": [{"name": h.name, "addresses": _addresses(h.attachments),
                   "networkAddresses": _address_lists(h.attachments), "netns": h.netns,
                   "routesTo": list(h.routes_to), "serviceRoutesTo": list(h.service_routes_to)}
                  for h in topology.hosts],
        "dockerHost": {"netns": topology.docker_host.netns,
                       "routesTo": list(topology.docker_host.routes_to),
                       "serviceRoutesTo": list(topology.docker_host.service_routes_to)},
        **current(state, topology).to_json(),  # "impairments", "partitions"
    }
