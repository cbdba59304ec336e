"""Expectations beyond reachability: seenSource, answeredBy, expectation sets (expectWhen),
judged on hand-made probe results; the file's checks for them."""

from __future__ import annotations

import pytest

import kindscape
from kindscape.probe import checks
from kindscape.probe.measure import merge
from kindscape.probe.prober import ProbeResult, ProbeTask
from kindscape.topology import Expectation
from tests.conftest import EXAMPLES

SEED = (EXAMPLES / "multi-cluster.yaml").read_text()
TOPOLOGY = kindscape.load(EXAMPLES / "multi-cluster.yaml").topology


def _answer(seen: str | None, by: str | None = "cluster-b-worker/pod1") -> ProbeResult:
    task = ProbeTask("cluster-a-worker/pod1", "ns", "cluster-b-worker/pod1", "10.220.1.2", 8080)
    return ProbeResult(task, seen is not None, seen, "10.110.1.2", by, 0.1, None)


def _judged(item: Expectation, results: list[ProbeResult]) -> bool:
    report = checks.check(TOPOLOGY, lambda tasks: [results.pop(0) for _ in tasks], expectations=[item])
    return report.ok


@pytest.mark.parametrize(("seen", "allowed", "met"), [
    ("10.110.1.2", ("10.110.1.2",), True), ("172.18.0.3", ("10.110.1.2",), False),
    ("172.18.0.3", ("cluster-a-worker",), True), ("10.110.1.2", ("cluster-a-worker",), False),
    ("10.110.1.2", ("cluster-a-worker/pod1",), True),
])
def test_seen_source_is_an_address_or_any_address_of_an_endpoint(seen, allowed, met):
    item = Expectation("cluster-a-worker/pod1", "cluster-b-worker/pod1", seen_source=allowed)
    assert _judged(item, [_answer(seen)]) is met


def test_answered_by_limits_who_answers_and_with_a_burst_wants_each():
    item = Expectation("cluster-a-worker/pod1", "cluster-b-worker/pod1", answered_by=("x", "y"))
    assert _judged(item, [_answer("10.110.1.2", "x")])
    assert not _judged(item, [_answer("10.110.1.2", "z")])
    burst = merge([_answer("10.110.1.2", "x"), _answer("10.110.1.2", "x"), _answer(None)])
    assert burst.answers == {"x": 2} and burst.measure_json()["answers"] == {"x": 2}
    report = checks.check(TOPOLOGY, lambda tasks: [burst], expectations=[item])
    assert not report.ok and report.expectations[0].unanswered == ["y"]
    assert checks.expectation_json(report.expectations[0])["unanswered"] == ["y"]


def test_expectation_sets_are_loaded_and_validated_like_expect():
    scenario = kindscape.loads(SEED + "expectWhen:\n  cut:\n    - {from: cluster-a/pods, to: cluster-b/pods, "
                               "reachable: false}\n")
    [cut] = scenario.topology.expectation_sets
    assert cut.name == "cut" and cut.expectations == (Expectation("cluster-a/pods", "cluster-b/pods", False),)
    with pytest.raises(kindscape.ScenarioError) as bad:
        kindscape.loads(SEED + "expectWhen:\n  Cut:\n    - {from: cluster-a/pods, to: cluster-c/pods, port: 0,"
                        " seenSource: nowhere, answeredBy: [cluster-a-worker/pod1]}\n")
    found = {(p.path, p.message) for p in bad.value.problems}
    assert ("expectWhen.Cut", "invalid expectation set name") in found
    assert ("expectWhen.Cut[0].to", "unknown cluster 'cluster-c'") in found
    assert ("expectWhen.Cut[0].port", "port out of range") in found
    assert ("expectWhen.Cut[0].answeredBy", "answeredBy is for a Service target") in found
    assert any(path == "expectWhen.Cut[0].seenSource" and "neither an address nor an endpoint" in message
               for path, message in found)


def test_a_name_replaces_the_files_name():
    assert kindscape.loads(SEED, name="copy").topology.scenario == "copy"
    assert kindscape.load(EXAMPLES / "multi-cluster.yaml", name="copy").name == "copy"
    with pytest.raises(kindscape.ScenarioError, match="name"):
        kindscape.loads(SEED, name="Not_A_Name")
