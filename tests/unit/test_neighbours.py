"""Static neighbours: an interface of an L2 segment (a network's bridge, a pod's ptp link)
knows the MAC of each one it sends to - on a network: the gateway and the hosts (which
know everyone), and its routes' next hops; on a ptp link: the other end - and that MAC
is the one the plan gives the interface holding the address; MACs are unique within
each segment."""

from __future__ import annotations

import ipaddress
from collections import defaultdict

import pytest

from benchmarks import scenarios
from kindscape import api
from kindscape.runtimes.netns import ops
from kindscape.scenario.load import loads
from tests.conftest import EXAMPLES

Iface = tuple[str, str]  # (namespace, device)


def _segments(plan: ops.Plan) -> tuple[dict[Iface, str], dict[Iface, str]]:
    """(segment of each interface, MAC of each interface) from the plan's link ops."""
    segment: dict[Iface, str] = {}
    mac: dict[Iface, str] = {}
    for op in plan.of(ops.Bridge):
        segment[(op.ns, op.name)] = f"bridge {op.ns}/{op.name}"
        mac[(op.ns, op.name)] = op.mac
    for op in plan.of(ops.Veth):
        here, there = (op.ns, op.name), (op.peer_ns, op.peer_name)
        mac[here], mac[there] = op.mac, op.peer_mac
        if op.peer_master:
            segment[here] = segment[(op.peer_ns, op.peer_master)]
        else:
            segment[here] = segment[there] = f"ptp {op.ns}/{op.name}"
    return segment, mac


def _addresses(plan: ops.Plan) -> dict[Iface, list[str]]:
    found: dict[Iface, list[str]] = defaultdict(list)
    for op in plan.of(ops.Address):
        found[(op.ns, op.dev)].append(str(ipaddress.ip_interface(op.address).ip))
    return found


def _sends_to(plan: ops.Plan, addresses: dict[Iface, list[str]]):
    """Whether interface i sends to interface j straight on their segment."""
    everyone = {op.ns for op in plan.of(ops.CreateNamespace) if op.role in ("host", "docker-host")}
    hops: dict[str, set[str]] = defaultdict(set)
    for op in plan.of(ops.Route):
        hops[op.ns].add(op.via)
    return lambda i, j: (i[0] in everyone or j[0] in everyone or j[0] == i[0]
                         or any(a in hops[i[0]] for a in addresses.get(j, [])))


def _check(plan: ops.Plan) -> int:
    segment, mac = _segments(plan)
    addresses = _addresses(plan)
    members: dict[str, list[Iface]] = defaultdict(list)
    for iface, seg in segment.items():
        members[seg].append(iface)
    for seg, ifaces in members.items():
        macs = [mac[i] for i in ifaces]
        assert all(macs) and len(set(macs)) == len(macs), f"MACs not unique on {seg}: {macs}"
    sends_to = _sends_to(plan, addresses)
    expected = {(i, address, mac[j]) for seg, ifaces in members.items() for i in ifaces for j in ifaces
                if i != j and addresses.get(i) and (seg.startswith("ptp") or sends_to(i, j))
                for address in addresses.get(j, [])}
    listed = {((op.ns, op.dev), op.address, op.mac) for op in plan.of(ops.Neighbour)}
    assert listed == expected
    return len(listed)


@pytest.mark.parametrize("name", ["multi-cluster.yaml", "multi-cluster-isolated.yaml"])
def test_every_segment_member_knows_whom_it_sends_to(name: str) -> None:
    plan = api.plan(EXAMPLES / name)
    # kind: the bridge and 4 nodes know each other (8 entries); each node its cluster's
    # other node (4), and, interconnected, the other cluster's two (8); 4 pods and the two
    # clusters' CoreDNS pods: 2 each.
    interconnect = 8 if name == "multi-cluster.yaml" else 0
    assert _check(plan) == 8 + 4 + interconnect + 2 * (4 + 2)


def test_macs_follow_docker_and_cni_conventions() -> None:
    plan = api.plan(EXAMPLES / "multi-cluster.yaml")
    bridge = plan.of(ops.Bridge)[0]
    node = next(op for op in plan.of(ops.Veth) if op.peer_master)
    pod = next(op for op in plan.of(ops.Veth) if not op.peer_master)
    assert bridge.mac == "02:42:ac:12:00:01"  # Docker: 02:42 + the gateway's IPv4 address
    assert (node.mac, node.peer_mac) == ("02:42:ac:12:00:02", "0e:42:ac:12:00:02")
    assert (pod.mac, pod.peer_mac) == ("0a:58:0a:6e:00:02", "0e:58:0a:6e:00:02")  # CNI: 0a:58 + pod IP


def test_a_thousand_namespaces_need_no_dynamic_neighbours_and_no_square() -> None:
    import yaml
    shape = scenarios.shape(1000)  # 5 clusters of 20 nodes, interconnected in pairs (c4 with c0)
    plan = api.plan(loads(yaml.safe_dump(scenarios.scenario("big", shape))))
    nodes = shape.clusters * shape.nodes
    routed = sum(len(p) for p in scenarios.partners(shape).values()) * shape.nodes * shape.nodes
    # kind: the bridge and every node know each other; each node the other nodes of its
    # cluster and of the clusters it is interconnected with (not all 99 others); each pod
    # (and each cluster's CoreDNS) and its node: one entry each way.
    assert _check(plan) == 2 * nodes + nodes * (shape.nodes - 1) + routed + 2 * (shape.pod_count + shape.clusters)
