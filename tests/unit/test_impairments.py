"""Impairments without the kernel: values, sides, the link plan, merging a burst of probes."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

import kindscape
from kindscape import api, measures, sides
from kindscape.plan import link_faults as links
from kindscape.runtimes.netns import render
from kindscape.probe.measure import MeasuredResult, merge
from kindscape.probe.prober import ProbeResult, ProbeTask
from kindscape.topology import Impairment
from tests.conftest import EXAMPLES

SIDES = Path(__file__).parent.parent / "golden" / "scenarios" / "impairment-sides.yaml"


@pytest.mark.parametrize("text, micros", [("25ms", 25_000), ("1.5ms", 1_500), ("500us", 500), ("2s", 2_000_000),
                                          (" 7 ms ", 7_000), ("0ms", None)])
def test_durations(text, micros):
    assert measures.parse_duration(text) == micros


@pytest.mark.parametrize("value", [25, "25", "5 parsecs", "2h", "61s", "0.1us", True, "-5ms", "1" * 400 + "ms"])
def test_bad_durations(value):
    with pytest.raises(measures.ValueProblem):
        measures.parse_duration(value, "delay")


@pytest.mark.parametrize("value, percent", [("1%", 1.0), ("0.5 %", 0.5), (1, 1.0), (0.25, 0.25), ("100%", 100.0),
                                            ("3", 3.0), ("0%", None)])
def test_percentages(value, percent):
    assert measures.parse_percent(value) == percent


@pytest.mark.parametrize("value", ["150%", "-1%", "lots", True, "0.00001%", 101, int("1" * 400), "1" * 400 + "%",
                                   float("nan")])
def test_bad_percentages(value):
    with pytest.raises(measures.ValueProblem):
        measures.parse_percent(value)


@pytest.mark.parametrize("text, bits", [("100mbit", 10**8), ("1Gbit", 10**9), ("512kbit", 512_000),
                                        ("1mbps", 8 * 10**6), ("1mibit", 2**20), ("1.5mbit", 1_500_000)])
def test_rates(text, bits):
    assert measures.parse_rate(text) == bits


@pytest.mark.parametrize("value", ["100", 100, "100 megabits", "1bit", "1tbit", "fast", "1" * 400 + "mbit"])
def test_bad_rates(value):
    with pytest.raises(measures.ValueProblem):
        measures.parse_rate(value)


def test_values_are_written_back_as_tc_reads_them():
    assert [measures.format_duration(v) for v in (25_000, 1_500, 2_000_000, 7)] == ["25ms", "1500us", "2s", "7us"]
    assert [measures.format_rate(v) for v in (10**8, 1_500_000, 2**20, 8_000)] == \
        ["100mbit", "1500kbit", "1048576bit", "8kbit"]
    assert [measures.format_percent(v) for v in (1.0, 0.25, 0.0001)] == ["1%", "0.25%", "0.0001%"]


def test_settings_problems_name_the_setting():
    parsed, problems = measures.parse_settings({"jitter": "5ms", "rate": "fast"})
    assert parsed == {"jitter": 5000}
    assert [(name, message) for name, message, _ in problems] == \
        [("rate", "invalid rate"), ("jitter", "jitter needs a delay")]
    assert measures.parse_settings({"loss": "0%"})[1][0][1] == "sets no impairment"


@pytest.fixture(scope="module")
def topo():
    return kindscape.load(SIDES).topology


def test_side_names_resolve_by_kind(topo):
    catalog = sides.Catalog.of(topo)
    assert sides.parse("east", catalog) == sides.Side("cluster", "east")
    assert sides.parse("west-worker", catalog) == sides.Side("node", "west-worker")
    assert sides.parse("network:wan", catalog) == sides.Side("network", "wan")
    with pytest.raises(sides.SideError, match="unknown side 'north'"):
        sides.parse("north", catalog)
    with pytest.raises(sides.SideError, match="unknown host 'wan'"):
        sides.parse("host:wan", catalog)
    ambiguous = sides.Catalog(("kind",), (), (), ("kind",))
    with pytest.raises(sides.SideError) as caught:
        sides.parse("kind", ambiguous)
    assert caught.value.hint == "write cluster:kind or network:kind"


def test_a_network_side_is_its_peers_link_to_that_network(topo):
    wan, west = sides.Side("network", "wan"), sides.Side("cluster", "west")
    network, cluster = sides.crossing(topo, wan, west)
    # Everything west reaches over wan, except west itself (its nodes talking over wan).
    assert network.exclude and not cluster.exclude and network.nets == cluster.nets
    assert ipaddress.ip_network("172.16.17.2/31") in cluster.nets  # west's own addresses on wan
    assert sides.overlapping(network.expanded(), [ipaddress.ip_network("172.16.17.4/32")])  # vm2
    assert not sides.overlapping(network.expanded(), [ipaddress.ip_network("172.16.17.2/32")])
    # The network's traffic to west leaves through docker-host's wan ports facing west's nodes.
    ports = {a.peer for n in topo.cluster("west").nodes for a in n.attachments if a.network == "wan"}
    assert sides.exits(topo, wan, west) == [(topo.docker_host.netns, p) for p in sorted(ports)]
    assert {dev for _, dev in sides.exits(topo, west, wan)} == {"eth1"}
    rules = "".join(op.text for op in links.plan_links(topo, (Impairment(("wan", "west"), loss=1.0),)))
    assert "ip saddr { 10.220.0.0/16, 10.225.0.0/16, 172.16.17.2/31, 172.18.0.4/31 } ip daddr != { 10.220." in rules


def test_pairs_conflict_only_on_the_same_traffic_through_the_same_interface(topo):
    wan, west, vm2 = sides.Side("network", "wan"), sides.Side("cluster", "west"), sides.Side("host", "vm2")
    workers = (sides.Side("node", "east-worker"), sides.Side("node", "west-worker"))
    assert not sides.conflicts(topo, (wan, west), workers)  # east and west meet over kind, not wan
    assert sides.conflicts(topo, (wan, west), (vm2, sides.Side("node", "west-control-plane")))


def test_exits_are_only_on_shared_networks(topo):
    vm1, east = sides.Side("host", "vm1"), sides.Side("cluster", "east")
    assert sides.exits(topo, vm1, east) == [(topo.hosts[0].netns, "eth0")]
    assert {dev for _, dev in sides.exits(topo, sides.Side("cluster", "west"), vm1)} == {"eth0"}


def test_pairs_that_cannot_be_impaired(topo):
    node, cluster = sides.Side("node", "east-worker"), sides.Side("cluster", "east")
    assert "is part of cluster east" in sides.pair_problem(topo, cluster, node)[0]
    assert "do not meet" in sides.pair_problem(topo, sides.Side("host", "vm2"), cluster)[0]
    assert "never exchange traffic" in sides.pair_problem(topo, sides.Side("network", "kind"),
                                                          sides.Side("network", "wan"))[0]
    west = sides.Side("cluster", "west")
    assert sides.conflicts(topo, (node, west), (west, cluster))
    assert not sides.conflicts(topo, (node, west), (sides.Side("host", "vm1"), cluster))


def test_link_plan_is_family_aware_and_in_both_directions(topo):
    item = Impairment(("east-worker", "west-worker"), rate=10**7)
    found = links.plan_links(topo, (item,))
    rules = {op.ns.rsplit(".", 1)[1]: op.text for op in found if isinstance(op, links.LinkRules)}
    assert set(rules) == {"east-worker", "west-worker"}
    assert "ip saddr { 10.110.1.0/24, 172.18.0.3 } ip daddr { 10.220.1.0/24, 172.16.17.3, 172.18.0.5 }" \
        in rules["east-worker"]
    # Dual-stack nodes also have their IPv6 address on `kind` (KIND's ULA).
    assert ("ip6 saddr { fc00:f853:ccd:e793::3, fd00:10:110:1::/64 } "
            "ip6 daddr { fc00:f853:ccd:e793::5, fd00:10:220:1::/64 } meta priority set 1:10") \
        in rules["east-worker"]
    assert ("ip6 saddr { fc00:f853:ccd:e793::5, fd00:10:220:1::/64 } "
            "ip6 daddr { fc00:f853:ccd:e793::3, fd00:10:110:1::/64 }") in rules["west-worker"]
    shaping = [op for op in found if isinstance(op, links.Shaping)]
    # No default class: traffic the rules do not classify is sent unshaped.
    assert {op.commands[0] for op in shaping} == {"qdisc add dev eth0 root handle 1: htb"}
    assert all("rate 10mbit ceil 10mbit" in op.commands[1] for op in shaping)


def test_loss_alone_needs_no_tc_and_netem_settings_make_a_leaf(topo):
    lossy = links.plan_links(topo, (Impairment(("vm1", "east"), loss=12.5),))
    assert not [op for op in lossy if isinstance(op, links.Shaping)]
    assert "numgen random mod 1000000 < 125000 drop" in lossy[0].text
    wan = links.plan_links(topo, (Impairment(("vm1", "east"), delay=25_000, jitter=5_000, reorder=10.0),))
    commands = [c for op in wan if isinstance(op, links.Shaping) for c in op.commands]
    assert "qdisc add dev eth0 parent 1:10 handle 10: netem limit 100000 delay 25ms 5ms reorder 10%" in commands
    assert links.requirements(Impairment(("a", "b"), delay=1, rate=8000, loss=1.0)) == \
        {"egress": ["delay", "loss", "rate"], "htb": ["delay", "rate"], "netem": ["delay"]}
    assert links.requirements(None) == {"egress": ["partition"]}


def test_a_partition_drops_both_directions_in_its_own_table(topo):
    found = links.plan_links(topo, (), (("east", "west"),))
    assert {op.table for op in found} == {links.PARTITION_TABLE}
    text = "".join(op.text for op in found)
    assert 'drop comment "partition: east -> west"' in text and 'drop comment "partition: west -> east"' in text


def test_the_example_plan_reads_as_commands():
    plan = api.plan(EXAMPLES / "multi-region.yaml")
    script = render.script(plan)
    assert "# --- impairments ---" in script
    assert script.index("# --- impairments ---") < script.index("# --- workloads ---")
    assert "tc -n " in script and "class add dev eth0 parent 1: classid 1:10 htb rate 100mbit" in script


def _result(reachable: bool, rtt: float | None = None, error: str | None = None) -> ProbeResult:
    task = ProbeTask("a", "ns-a", "b", "10.0.0.2", 8080)
    return ProbeResult(task, reachable, "10.0.0.1" if reachable else None, "10.0.0.1", "b", rtt, error)


def test_a_burst_merges_into_loss_and_rtt_spread():
    merged = merge([_result(False, error="timed out"), _result(True, 1.0), _result(True, 3.0),
                    _result(True, 2.0)])
    assert isinstance(merged, MeasuredResult)
    assert merged.reachable and merged.error is None and merged.rtt_ms == 2.0
    assert merged.measure_json() == {"probes": 4, "lost": 1, "lossPct": 25.0, "rttMinMs": 1.0,
                                     "rttAvgMs": 2.0, "rttMaxMs": 3.0, "rttMdevMs": 0.816, "answers": {"b": 3}}
    cut = merge([_result(False, error="timed out")] * 3)
    assert not cut.reachable and cut.error == "timed out"
    assert cut.measure_json()["lossPct"] == 100.0 and cut.measure_json()["rttAvgMs"] is None
