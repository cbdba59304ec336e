"""Impairments in the kind plan: what Docker and Kubernetes pick (the nodes' and hosts'
addresses on `kind`, podCIDRs, the Docker host's veth names) stands in the plan as references; `up` resolves them. Resolved
against a "real" topology whose values differ from the planned ones, the plan's
operations must be exactly those the runtime computes from that real topology (what
`impair` and `heal` later compare with)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from kindscape.runtimes.kind import container_links
from kindscape.runtimes.kind.facts import DOCKER_HOST_NS, container_ns
from kindscape.runtimes.kind.ops import ContainerIP, HostVeth, PodCIDR
from kindscape.runtimes.kind.planner import Settings, host_container, plan
from kindscape.scenario.load import load, loads
from kindscape.topology import KIND_NETWORK, Topology
from tests.conftest import EXAMPLES

SIDES = EXAMPLES.parent / "tests" / "golden" / "scenarios" / "impairment-sides.yaml"
UNDECLARED_KIND = """
apiVersion: kindscape/v1alpha1
kind: Scenario
name: undeclared
clusters:
  - name: c
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      networking: {podSubnet: 10.40.0.0/16, serviceSubnet: 10.45.0.0/16}
      nodes: [{role: control-plane}, {role: worker}]
hosts:
  - name: vm1
    networks: [kind]
impairments:
  - between: [kind, c-worker]
    loss: 3%
  - between: [vm1, c-control-plane]
    rate: 5mbit
"""
REAL_KIND_SUBNET = ipaddress.ip_network("172.30.0.0/16")  # Docker's choice for an undeclared `kind`


def _real(topology: Topology) -> Topology:
    """The topology as Docker and Kubernetes might give it: other addresses on `kind` (in
    another subnet where the file left it to Docker), the podCIDRs of each cluster's nodes
    in the reverse order, veth names of Docker's making."""
    kind = topology.network(KIND_NETWORK)
    moved = not kind.declared

    def address(network: str, value):
        if network != KIND_NETWORK or value.version != 4:
            return value
        base = REAL_KIND_SUBNET.network_address if moved else kind.subnets[0].network_address
        return base + (int(value) & 0xFFFF) + 100

    def attachments(container: str, found):
        return tuple(replace(a, ifname=f"eth{i}", peer=f"veth{abs(hash(container)) % 10**6}x{i}",
                             addresses=tuple(address(a.network, v) for v in a.addresses))
                     for i, a in enumerate(found))

    clusters = []
    for cluster in topology.clusters:
        cidrs = [n.pod_cidrs for n in cluster.nodes][::-1]
        clusters.append(replace(cluster, nodes=tuple(
            replace(n, netns=container_ns(n.name), attachments=attachments(n.name, n.attachments), pod_cidrs=c)
            for n, c in zip(cluster.nodes, cidrs))))
    hosts = tuple(replace(h, netns=container_ns(host_container(topology.scenario, h.name)),
                          attachments=attachments(host_container(topology.scenario, h.name), h.attachments))
                  for h in topology.hosts)
    networks = tuple(replace(n, subnets=(REAL_KIND_SUBNET,) + n.subnets[1:]) if n.name == KIND_NETWORK and moved
                     else n for n in topology.networks)
    return replace(topology, clusters=tuple(clusters), hosts=hosts, networks=networks,
                   docker_host=replace(topology.docker_host, netns=DOCKER_HOST_NS))


def _values(real: Topology):
    """What `up` would look up for each reference, read from the real topology."""
    containers = {n.name: n for n in real.nodes}
    containers.update({host_container(real.scenario, h.name): h for h in real.hosts})

    def value(ref) -> str:
        if isinstance(ref, ContainerIP):
            (attachment,) = [a for a in containers[ref.container].attachments if a.network == ref.network]
            return str(next(a for a in attachment.addresses if a.version == ref.family))
        if isinstance(ref, PodCIDR):
            return str(containers[ref.node].pod_cidrs[ref.index])
        assert isinstance(ref, HostVeth), ref
        return next(a.peer for a in containers[ref.container].attachments if a.ifname == ref.ifname)
    return value


@pytest.mark.parametrize("topology", [load(SIDES).topology, loads(UNDECLARED_KIND).topology],
                         ids=["sides", "undeclared-kind"])
def test_the_plans_impairments_resolve_to_what_the_real_topology_gives(topology):
    (impair,) = plan(topology, Settings()).of(container_links.ImpairLinks)
    real = _real(topology)
    resolved = impair.resolved(_values(real))
    assert resolved == container_links.link_ops(real, real.impairments)
    # ... and not to what the planned addresses would have given (the test can fail).
    assert resolved != container_links.link_ops(_real_with_planned_addresses(topology), topology.impairments)


def _real_with_planned_addresses(topology: Topology) -> Topology:
    real = _real(topology)
    planned = {n.name: n for n in topology.nodes}
    clusters = tuple(replace(c, nodes=tuple(replace(n, attachments=tuple(
        replace(a, addresses=p.addresses) for a, p in zip(n.attachments, planned[n.name].attachments)),
        pod_cidrs=planned[n.name].pod_cidrs) for n in c.nodes)) for c in real.clusters)
    return replace(real, clusters=clusters)


def test_every_reference_is_discovered_and_no_picked_address_is_written():
    topology = loads(UNDECLARED_KIND).topology
    steps = plan(topology, Settings())
    (impair,) = steps.of(container_links.ImpairLinks)
    assert {type(ref) for ref in impair.refs()} == {ContainerIP, PodCIDR, HostVeth}
    discovered = [op.ref for op in steps.ops if type(op).__name__ == "Discover"]
    assert set(impair.refs()) <= set(discovered)
    picked = [a for n in topology.nodes for a in n.attachments[0].addresses]
    picked += [c for n in topology.nodes for c in n.pod_cidrs]
    text = impair.shell()
    assert "$IP_C_WORKER_KIND" in text and "$PODCIDR_C_WORKER" in text and "$VETH_C_WORKER_ETH0" in text
    assert not [str(a) for a in picked if str(a) in text]
