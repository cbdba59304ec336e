"""Impairments and faults on real namespaces and real traffic: a rate limit holds on a TCP
stream between pods of two clusters (and only between them), loss shows in `check
--measure`, a partition cuts and heal restores, kernel features this machine lacks are
refused before anything is made, and nothing is left behind."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import kindscape
from kindscape import state as statefile
from kindscape.errors import KernelFeatureMissing
from kindscape.linux import features as kernel
from tests.conftest import EXAMPLES
from tests.integration.throughput import stream_bits_per_second
from tests.labs import cli_json, netns_of as _netns, pairs as _pairs

REGION = EXAMPLES / "multi-region.yaml"
WAN = EXAMPLES / "multi-region-wan.yaml"
HAS_NETEM = os.geteuid() == 0 and kernel.available("netem")
NO_NETEM = "this kernel has no netem qdisc (sch_netem): delay and jitter cannot be emulated here"


@pytest.fixture
def region(no_leaks):
    with kindscape.up(REGION) as lab:
        yield lab


def test_rate_limit_holds_between_the_clusters_and_only_there(region):
    a, b, a2 = (_netns(region, e) for e in ("cluster-a-worker/pod1", "cluster-b-worker/pod1",
                                             "cluster-a-control-plane/pod1"))
    limit = 100e6  # the example's rate: 100mbit
    across = stream_bits_per_second(a, b, "10.220.1.2")
    back = stream_bits_per_second(b, a, "10.110.1.2")
    inside = stream_bits_per_second(a, a2, "10.110.0.2")
    print(f"\nTCP goodput a->b {across / 1e6:.1f} Mbit/s, b->a {back / 1e6:.1f} Mbit/s, "
          f"inside cluster-a {inside / 1e6:.0f} Mbit/s (limit {limit / 1e6:.0f} Mbit/s)")
    # Goodput is the rate less Ethernet/IP/TCP headers (~95%); htb may run a little ahead.
    assert 0.80 * limit <= across <= 1.03 * limit
    assert 0.80 * limit <= back <= 1.03 * limit
    assert inside > 3 * limit  # traffic inside a region is not shaped


def test_a_lower_rate_set_at_runtime_holds(region):
    region.impair("cluster-a", "cluster-b", rate="20mbit")
    a, b = _netns(region, "cluster-a-worker/pod1"), _netns(region, "cluster-b-control-plane/pod1")
    measured = stream_bits_per_second(a, b, "10.220.0.2")
    print(f"\nTCP goodput a->b {measured / 1e6:.2f} Mbit/s (limit 20 Mbit/s)")
    assert 0.80 * 20e6 <= measured <= 1.03 * 20e6


def test_loss_shows_in_measure_and_clears(region):
    doc = region.impair("cluster-a", "cluster-b", loss="30%")
    assert doc["impairments"] == [{"between": ["cluster-a", "cluster-b"], "delay": None, "jitter": None,
                                   "loss": "30%", "duplicate": None, "corrupt": None, "reorder": None,
                                   "rate": None}]
    report = region.check(all=True, measure=40)
    across = _pairs(report, "cluster-a", "cluster-b") + _pairs(report, "cluster-b", "cluster-a")
    inside = _pairs(report, "cluster-a", "cluster-a") + _pairs(report, "cluster-b", "cluster-b")
    lost = sum(r.lost for r in across) / sum(r.probes for r in across)
    print(f"\nprobes lost across: {100 * lost:.1f}% (expected ~51%: 30% each way), "
          f"inside: {sum(r.lost for r in inside)} of {sum(r.probes for r in inside)}")
    # A probe needs its SYN and its SYN-ACK: 1 - 0.7 * 0.7 = 51% of them are lost.
    assert 0.36 <= lost <= 0.66
    assert sum(r.lost for r in inside) == 0
    region.impair("cluster-a", "cluster-b", clear=True)
    again = region.check(measure=20)
    assert all(r.lost == 0 for r in again.results) and again.ok


def test_partition_cuts_and_heal_restores(region):
    region.partition("cluster-a", "cluster-b")
    assert region.status()["partitions"] == [{"between": ["cluster-a", "cluster-b"]}]
    cut = region.check(all=True, timeout=0.3)
    assert not cut.ok
    assert not any(r.reachable for r in _pairs(cut, "cluster-a", "cluster-b") + _pairs(cut, "cluster-b", "cluster-a"))
    assert all(r.reachable for r in _pairs(cut, "cluster-a", "cluster-a"))
    assert {r.error for r in _pairs(cut, "cluster-a", "cluster-b")} == {"timed out"}
    # The file's rate limit is still there, and still listed.
    assert region.status()["impairments"][0]["rate"] == "100mbit"
    region.heal("cluster-b", "cluster-a")  # either order names the pair
    assert region.status()["partitions"] == []
    assert region.check().ok


def test_cli_partition_heal_impair_in_json(region):
    cli = cli_json
    done = cli("partition", "multi-region", "cluster-a", "cluster-b")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["partitions"] == [{"between": ["cluster-a", "cluster-b"]}]
    again = cli("partition", "multi-region", "cluster-b", "cluster-a")
    assert again.returncode == 3 and "already partitioned" in json.loads(again.stdout)["error"]
    check = subprocess.run(["kindscape", "check", "multi-region", "--measure", "--probes", "5", "-o", "json"],
                           capture_output=True, text=True)
    assert check.returncode == 1
    assert {r["lossPct"] for r in json.loads(check.stdout)["results"]} == {100.0}
    assert cli("heal", "multi-region", "cluster-a", "cluster-b").returncode == 0
    bad = cli("impair", "multi-region", "cluster-a", "cluster-b", "--loss", "150%", "--rate", "fast")
    assert bad.returncode == 2  # a bad option value is a usage error
    assert json.loads(bad.stdout)["error"].startswith("--loss: loss out of range (got '150%'); 0% to 100%; "
                                                      "--rate: invalid rate")
    nowhere = cli("impair", "multi-region", "cluster-a", "vm9", "--loss", "1%")
    assert "unknown side 'vm9'" in json.loads(nowhere.stdout)["error"]
    twice = cli("impair", "multi-region", "cluster-a-worker", "cluster-b", "--loss", "1%")
    assert json.loads(twice.stdout)["error"].startswith(
        "cluster-a-worker - cluster-b overlaps the impairment between cluster-a and cluster-b")
    cleared = cli("impair", "multi-region", "cluster-b", "cluster-a", "--clear")
    assert json.loads(cleared.stdout) == {"ok": True, "name": "multi-region", "impairments": [], "partitions": []}
    again = cli("impair", "multi-region", "cluster-a", "cluster-b", "--clear")
    assert "are not impaired" in json.loads(again.stdout)["error"]
    assert cli("impair", "multi-region", "cluster-a", "cluster-b", "--rate", "100mbit").returncode == 0
    status = subprocess.run(["kindscape", "status", "multi-region"], capture_output=True, text=True)
    assert "impaired: rate 100mbit" in status.stdout


def test_sides_that_are_a_node_a_host_and_a_network(no_leaks, tmp_path):
    # vm1 on kind with routes to cluster-a: cut kind (the network) from vm1, then a node from a cluster.
    text = REGION.read_text().replace("name: multi-region", "name: sides-live")
    text = text.replace("impairments:", "hosts:\n  - name: vm1\n    networks: [kind]\n    routesTo: [cluster-a]\n\n"
                                        "impairments:")
    path = tmp_path / "sides.yaml"
    path.write_text(text)
    with kindscape.up(path) as lab:
        lab.partition("network:kind", "vm1")  # docker-host's bridge port facing vm1, and vm1's eth0
        report = lab.check(all=True, timeout=0.3)
        assert not any(r.reachable for r in _pairs(report, "vm1", "cluster-a"))
        assert not any(r.reachable for r in _pairs(report, "cluster-a-worker/pod1", "vm1"))
        assert all(r.reachable for r in _pairs(report, "cluster-a-worker/pod1", "cluster-b"))
        lab.heal("kind", "vm1")
        lab.partition("cluster-a-worker", "cluster-b")
        report = lab.check(all=True, timeout=0.3)
        assert not any(r.reachable for r in _pairs(report, "cluster-a-worker/pod1", "cluster-b"))
        assert all(r.reachable for r in _pairs(report, "cluster-a-control-plane/pod1", "cluster-b"))
        assert all(r.reachable for r in _pairs(report, "vm1", "cluster-a"))


@pytest.mark.skipif(HAS_NETEM, reason="this kernel has netem: the refusal cannot happen here")
def test_delay_is_refused_before_anything_is_made_without_netem(no_leaks):
    with pytest.raises(KernelFeatureMissing) as caught:
        kindscape.up(WAN)
    assert str(caught.value).startswith(
        "impairments[0] (between cluster-a and cluster-b): delay and jitter need the kernel's netem qdisc "
        "(sch_netem), which this kernel lacks")
    assert "multi-region-wan" not in statefile.names()


@pytest.mark.skipif(HAS_NETEM, reason="this kernel has netem: the refusal cannot happen here")
def test_runtime_delay_is_refused_and_changes_nothing(region):
    before = region.status()["impairments"]
    done = subprocess.run(["kindscape", "impair", "multi-region", "cluster-a", "cluster-b", "--delay", "50ms"],
                          capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stderr == ("error: impair cluster-a cluster-b: delay needs the kernel's netem qdisc (sch_netem), "
                           "which this kernel lacks (rate and loss work without netem; `modprobe sch_netem` "
                           "where the kernel ships it)\n")
    assert kindscape.attach("multi-region").status()["impairments"] == before


@pytest.mark.skipif(not HAS_NETEM, reason=NO_NETEM)
def test_delay_and_jitter_show_in_rtt(region):
    region.impair("cluster-a", "cluster-b", delay="20ms", jitter="5ms")
    report = region.check(all=True, measure=20)
    across = _pairs(report, "cluster-a", "cluster-b")
    inside = _pairs(report, "cluster-a", "cluster-a")
    assert across and inside
    # Both directions are delayed: a SYN/SYN-ACK round trip takes 2 x (20 +/- 5) ms.
    assert all(30 <= r.measure_json()["rttAvgMs"] <= 60 for r in across)
    assert all(r.measure_json()["rttMdevMs"] > 0.5 for r in across)
    assert all(r.measure_json()["rttAvgMs"] < 10 for r in inside)


def test_sigkill_while_links_are_applied_then_down_leaves_nothing(no_leaks):
    env = dict(os.environ, KINDSCAPE_TEST_KILL_AT="links:4")
    done = subprocess.run(["kindscape", "up", str(REGION)], capture_output=True, text=True, env=env)
    assert done.returncode == -9, done.stderr
    down = subprocess.run(["kindscape", "down", "multi-region"], capture_output=True, text=True)
    assert down.returncode == 0, down.stderr


def _tables(lab) -> dict[str, str]:
    """The nftables netdev tables each node has (what links put there), by node."""
    found = {}
    for node in lab.topology.nodes:
        out = lab.exec(node.name, ["nft", "list", "tables", "netdev"]).stdout
        found[node.name] = " ".join(sorted(line.split()[-1] for line in out.splitlines()))
    return found


def test_a_change_killed_half_way_is_completed_by_the_next(region):
    env = dict(os.environ, KINDSCAPE_TEST_KILL_AT="links:2")
    done = subprocess.run(["kindscape", "partition", "multi-region", "cluster-a", "cluster-b"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == -9, done.stderr
    half = _tables(region)  # namespaces are changed in parallel: at least two were when it died
    assert sum("kindscape-partition" in tables for tables in half.values()) >= 2
    # Make sure one namespace is left as it was before: resets must cope with either.
    region.exec("cluster-a-worker", ["nft", "delete", "table", "netdev", "kindscape-partition"])
    status = kindscape.attach("multi-region").status()
    assert not status["healthy"] and "interrupted" in status["problems"][0]
    assert status["partitions"] == [{"between": ["cluster-a", "cluster-b"]}]  # recorded before applying
    region.heal("cluster-a", "cluster-b")
    assert set(_tables(region).values()) == {"kindscape-impair"}
    assert kindscape.attach("multi-region").status()["healthy"]
    assert region.check().ok
