"""The seed page's claims on real namespaces: pods of a cluster reach each other without
NAT; without the interconnect loop a pod cannot reach the other cluster's pod IPs; with
it, it can, and the target sees the source pod's own address."""

from __future__ import annotations

import json
import subprocess

import pytest

import kindscape
from tests.conftest import EXAMPLES
from tests.labs import pairs as _results


@pytest.fixture
def interconnected(no_leaks):
    with kindscape.up(EXAMPLES / "multi-cluster.yaml") as lab:
        yield lab


def test_seed_example_meets_its_expectations(interconnected):
    report = interconnected.check()
    assert report.ok, report.failures
    assert [o.met for o in report.expectations] == [True, True, True]
    assert len(report.results) == 10  # 2 within cluster-a, 4 each way across


def test_pods_of_one_cluster_reach_each_other_without_nat(interconnected):
    report = interconnected.check(all=True)
    within = _results(report, "cluster-a-", "cluster-a-")
    pods = [r for r in within if "/pod" in r.task.source and "/pod" in r.task.target]
    assert pods and all(r.reachable for r in pods)
    assert all(r.seen_source == r.local_address for r in pods)
    assert {r.seen_source for r in pods} == {"10.110.0.2", "10.110.1.2"}


def test_interconnect_keeps_the_pod_source_address(interconnected):
    report = interconnected.check()
    across = _results(report, "cluster-a-worker/pod1", "cluster-b-")
    assert len(across) == 2 and all(r.reachable for r in across)
    assert {r.seen_source for r in across} == {"10.110.1.2"}
    assert {r.answered_by for r in across} == {"cluster-b-control-plane/pod1", "cluster-b-worker/pod1"}


def test_without_interconnect_pod_ips_of_the_other_cluster_are_unreachable(no_leaks):
    with kindscape.up(EXAMPLES / "multi-cluster-isolated.yaml") as lab:
        report = lab.check(all=True)
        assert report.ok, report.failures
        across = _results(report, "cluster-a-worker/pod1", "cluster-b-")
        pods = [r for r in across if "/pod" in r.task.target]
        assert pods and not any(r.reachable for r in pods)
        # ...while the same pod reaches its own cluster, and nodes reach everything on kind.
        assert all(r.reachable for r in _results(report, "cluster-a-worker/pod1", "cluster-a-"))


def test_pod_traffic_leaving_the_cluster_is_masqueraded(no_leaks):
    # A node address is outside the podSubnet: kindnet SNATs the pod to its node.
    with kindscape.up(EXAMPLES / "multi-cluster-isolated.yaml") as lab:
        out = lab.exec("cluster-a-worker/pod1", ["sh", "-c", "echo | nc -w 2 172.18.0.4 8080"])
        assert out.stdout.strip() == "cluster-b-control-plane 172.18.0.3", out


def test_exec_runs_in_the_endpoint_namespace(interconnected):
    out = interconnected.exec("cluster-a-worker/pod1", ["ip", "route"])
    assert out.returncode == 0
    assert "default via 10.110.1.1 dev eth0" in out.stdout
    node = interconnected.exec("cluster-a-worker", ["ip", "route"]).stdout
    assert "10.220.1.0/24 via 172.18.0.5" in node  # the page's loop
    assert "10.110.0.0/24 via 172.18.0.2" in node  # kindnet


def test_http_gets_the_line_as_body(interconnected):
    out = interconnected.exec("cluster-a-worker/pod1", ["curl", "-s", "-i", "http://10.220.0.2:8080/"])
    assert out.stdout.startswith("HTTP/1.0 200 OK")
    assert out.stdout.rstrip().endswith("cluster-b-control-plane/pod1 10.110.1.2")


def test_status_document_has_the_contract_shape(interconnected):
    doc = interconnected.status()
    assert doc["name"] == "multi-cluster" and doc["runtime"] == "netns"
    assert doc["networks"] == [{"name": "kind", "subnet": "172.18.0.0/16", "gateway": "172.18.0.1",
                                "bridge": "br-kind"}]
    node = doc["clusters"][1]["nodes"][1]
    assert (node["name"], node["role"], node["address"], node["podCIDR"]) == \
        ("cluster-b-worker", "worker", "172.18.0.5", "10.220.1.0/24")
    assert node["addresses"] == {"kind": "172.18.0.5"}
    assert node["pods"][0]["name"] == "cluster-b-worker/pod1"
    assert node["pods"][0]["address"] == "10.220.1.2"
    assert doc["healthy"] is True


def test_up_of_a_scenario_that_is_up_is_a_clear_error(interconnected):
    with pytest.raises(kindscape.KindscapeError, match="already up"):
        kindscape.up(EXAMPLES / "multi-cluster.yaml")


def test_check_exits_1_when_an_expectation_fails(no_leaks, tmp_path):
    text = (EXAMPLES / "multi-cluster-isolated.yaml").read_text()
    text = text.replace("name: multi-isolated", "name: wrong-expect")
    text = text.replace("to: cluster-b/pods\n    reachable: false", "to: cluster-b/pods\n    reachable: true")
    path = tmp_path / "wrong.yaml"
    path.write_text(text)
    with kindscape.up(path):
        done = subprocess.run(["kindscape", "check", "wrong-expect", "-o", "json"],
                              capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        doc = json.loads(done.stdout)
        assert doc["ok"] is False
        failed = [e for e in doc["expectations"] if not e["met"]]
        assert len(failed) == 1 and failed[0]["to"] == "cluster-b/pods"
        assert len(failed[0]["failures"]) == 4
        table = subprocess.run(["kindscape", "check", "wrong-expect"], capture_output=True, text=True)
        assert table.returncode == 1 and "kindscape trace wrong-expect" in table.stdout


def test_a_probe_timeout_must_be_positive(interconnected):
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(kindscape.KindscapeError, match="positive number of seconds"):
            interconnected.check(timeout=bad)


def test_check_reports_its_progress(interconnected):
    """Probes finished, as they finish (the last report is all of them); with --measure,
    rounds; the command prints the step on stderr (a live bar on a terminal)."""
    heard = []
    report = interconnected.check(all=True, progress=lambda *step: heard.append(step))
    total = len(report.results)
    assert heard and heard[-1] == ("probes", total, total)
    done = [d for step, d, t in heard if step == "probes"]
    assert done == sorted(done) and all(t == total for _, _, t in heard)
    heard.clear()
    interconnected.check(measure=3, progress=lambda *step: heard.append(step))
    assert [h for h in heard if h[0] == "rounds"] == [("rounds", 1, 3), ("rounds", 2, 3), ("rounds", 3, 3)]
    assert interconnected.check(progress=None).ok  # as the README writes the default
    cli = subprocess.run(["kindscape", "check", "multi-cluster", "-o", "json"], capture_output=True, text=True)
    assert cli.returncode == 0 and "probes: 10/10" in cli.stderr, cli.stderr
    assert json.loads(cli.stdout)["ok"] is True
