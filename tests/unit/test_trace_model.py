"""`trace`'s pure parts: where interfaces lead (wiring), endpoints by address, the route
text, the JSON shape of the contract, and the one-line summaries of `check --explain`."""

from __future__ import annotations

import ipaddress

import pytest

import kindscape
from kindscape.endpoints import EndpointError
from kindscape.errors import KindscapeError
from kindscape.plan.decide import Packet
from kindscape.trace.explain import one_line
from kindscape.trace.kernel import Route
from kindscape.trace.model import DELIVERED, DROPPED, Hop, Path, TraceReport
from kindscape.trace.tracer import _pick_address
from kindscape.trace.wiring import Landing, Wiring, resolve
from tests.conftest import SCENARIOS

ip = ipaddress.ip_address


@pytest.fixture(scope="module")
def topology():
    return kindscape.load(SCENARIOS / "trace-hosts.yaml").topology


@pytest.fixture(scope="module")
def wiring(topology):
    return Wiring(topology)


def test_a_pod_veth_leads_to_its_node_and_back(topology, wiring):
    node = topology.node("cluster-a-worker")
    pod = node.pods[0]
    there = wiring.land(pod.netns, "eth0", ip("10.110.1.1"))
    assert (there.spot.endpoint, there.iif, there.network, there.bridge) == ("cluster-a-worker", "vpod1", "", "")
    back = wiring.land(node.netns, "vpod1", ip("10.110.1.2"))
    assert (back.spot.endpoint, back.iif) == ("cluster-a-worker/pod1", "eth0")


def test_a_network_next_hop_is_the_namespace_that_owns_the_address(topology, wiring):
    node = topology.node("cluster-a-worker")
    peer = wiring.land(node.netns, "eth0", ip("172.18.0.7"))
    assert isinstance(peer, Landing)
    assert (peer.spot.endpoint, peer.spot.role, peer.iif, peer.network, peer.bridge) == \
        ("vm2", "host", "eth0", "kind", "br-kind")
    gateway = wiring.land(node.netns, "eth0", ip("172.18.0.1"))
    assert (gateway.spot.endpoint, gateway.iif, gateway.bridge) == ("docker-host", "br-kind", "")
    out = wiring.land(topology.docker_host.netns, "br-my-net2", ip("172.16.17.2"))
    assert (out.spot.endpoint, out.iif, out.bridge) == ("vm3", "eth0", "")


def test_a_next_hop_nobody_owns_is_said_plainly(topology, wiring):
    node = topology.node("cluster-a-worker")
    assert wiring.land(node.netns, "eth0", ip("172.18.0.99")) == \
        "cluster-a-worker: nothing on network kind has 172.18.0.99 (no answer to ARP)"
    assert "lo is not an interface" in wiring.land(node.netns, "lo", ip("127.0.0.1"))


def test_endpoints_by_name_or_address(topology, wiring):
    assert resolve(topology, wiring, "172.18.0.3").name == "cluster-a-worker"
    assert resolve(topology, wiring, "10.220.0.2").name == "cluster-b-control-plane/pod1"
    assert resolve(topology, wiring, "172.18.0.1").name == "docker-host"
    bare = resolve(topology, wiring, "10.0.0.5")
    assert (bare.name, bare.kind, bare.netns) == ("10.0.0.5", "address", "")
    with pytest.raises(EndpointError, match="unknown endpoint"):
        resolve(topology, wiring, "nope")


def test_the_target_address_is_of_a_family_the_source_has(topology, wiring):
    source, target = resolve(topology, wiring, "vm1"), resolve(topology, wiring, "cluster-a-worker/pod1")
    assert str(_pick_address(source, target, None)) == "10.110.1.2"
    with pytest.raises(KindscapeError, match="has no address 10.9.9.9"):
        _pick_address(source, target, "10.9.9.9")


@pytest.mark.parametrize("route,text", [
    (Route("unicast", "main", "10.220.1.0/24", ip("172.18.0.5"), "eth0", None), "10.220.1.0/24 via 172.18.0.5 dev eth0"),
    (Route("unicast", "main", "default", ip("172.18.0.1"), "eth0", None), "default via 172.18.0.1 dev eth0"),
    (Route("local", "local", "172.18.0.5", None, "lo", None), "local 172.18.0.5"),
    (Route("unicast", "100", "10.0.0.0/8", None, "eth1", None), "10.0.0.0/8 dev eth1 table 100"),
])
def test_routes_read_like_ip_route(route, text):
    assert route.text() == text


def _report(forward: Path, back: Path | None) -> TraceReport:
    return TraceReport("s", "a/pod1", "b/pod1", "10.220.1.2", 8080, forward, back, from_address="10.110.1.2")


def _hop(at, src, dst, **kw) -> Hop:
    return Hop(at, f"ns.{at}", kw.pop("iif", ""), Packet(ip(src), ip(dst), 8080), **kw)


def test_json_has_the_contract_fields():
    first = _hop("a/pod1", "10.110.1.2", "10.220.1.2", route="default via 10.110.1.1 dev eth0", next="a")
    last = _hop("b/pod1", "10.110.1.2", "10.220.1.2", iif="eth0", route="local 10.220.1.2", verdict=DELIVERED)
    forward = Path([first, last], DELIVERED, None, last.packet, "b/pod1")
    back = Path([], DELIVERED, None, last.packet.reply(), "a/pod1")
    doc = _report(forward, back).to_json()
    assert {"from", "to", "toAddress", "verdict", "returnVerdict", "hops", "returnHops", "reason"} <= set(doc)
    assert (doc["verdict"], doc["returnVerdict"], doc["reason"], doc["ok"]) == (DELIVERED, DELIVERED, None, True)
    assert (doc["seenSource"], doc["sourcePreserved"]) == ("10.110.1.2", True)
    assert {"at", "route", "nat", "next"} <= set(doc["hops"][0])
    assert doc["hops"][0]["in"] is None and doc["hops"][1]["in"] == "eth0"


def test_reason_and_one_line_say_where_it_stopped():
    dropped = Path([_hop("docker-host", "172.18.0.3", "10.220.1.2", verdict=DROPPED)], DROPPED,
                   "docker-host: no route to 10.220.1.2")
    report = _report(dropped, None)
    assert report.to_json()["returnVerdict"] is None and not report.ok
    assert one_line(report) == "request dropped: docker-host: no route to 10.220.1.2"
    delivered = Path([_hop("a/pod1", "10.110.1.2", "10.220.1.2")], DELIVERED, None,
                     Packet(ip("10.110.1.2"), ip("10.220.1.2"), 8080), "b/pod1")
    lost = Path([], DROPPED, "docker-host: no route to 10.110.1.2")
    report = _report(delivered, lost)
    assert report.reason == "reply: docker-host: no route to 10.110.1.2"
    assert one_line(report) == "request delivered, reply dropped: docker-host: no route to 10.110.1.2"
