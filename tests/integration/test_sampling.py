"""`check` without expectations probes each class of equivalent pairs once: sound when
every member of every class gets the verdict of its representative. Checked against
`check --all` (every pair probed) on the examples that have policies, hosts, several
networks, both families and impairments, and on generated scenarios."""

from __future__ import annotations

import pytest
import yaml

import kindscape
from benchmarks import scenarios
from kindscape import endpoints
from kindscape.probe import checks, sampling
from tests.conftest import EXAMPLES


def _verdict(result) -> tuple:
    return (result.reachable, result.source_preserved, result.error)


def _sound(lab) -> checks.CheckReport:
    probe = lambda tasks: lab.runtime.probe(lab.state, tasks, 0.5)  # noqa: E731
    sampled = checks.check(lab.topology, probe, expectations=[])
    every = checks.check(lab.topology, probe, everything=True, expectations=[])
    by_pair = {checks._key(r.task): r for r in every.results}
    sources = {s.name: s for s in endpoints.all_sources(lab.topology)}
    tasks = checks.tasks_between(list(sources.values()), endpoints.all_targets(lab.topology))
    assert len(by_pair) == len(tasks) == sampled.pairs == every.pairs
    assert sampled.sampled and not every.sampled and all(r.represents == 1 for r in every.results)
    classifier = sampling.Classifier(lab.topology)
    members: dict[tuple, list] = {}
    for task in tasks:
        members.setdefault(classifier.pair_class(task, sources[task.source]), []).append(task)
    chosen = {classifier.pair_class(r.task, sources[r.task.source]): r for r in sampled.results}
    assert len(chosen) == len(members) == sampled.probes
    for key, tasks_of_class in members.items():
        assert chosen[key].represents == len(tasks_of_class)
        for task in tasks_of_class:
            assert _verdict(by_pair[checks._key(task)]) == _verdict(chosen[key]), (task, chosen[key].task)
    return sampled


@pytest.mark.parametrize("name", ["network-policies.yaml", "hosts-and-multihome.yaml",
                                  "dual-stack.yaml", "multi-region.yaml"])
def test_each_class_verdict_is_every_members(no_leaks, tmp_path, name):
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    for cluster in doc["clusters"]:  # several pods a node, so that classes have members
        cluster["podsPerNode"] = cluster.get("podsPerNode", 1) and 3
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    with kindscape.up(path) as lab:
        sampled = _sound(lab)
    # The policy example's workload pods each differ from the others by node or labels.
    assert sampled.probes < sampled.pairs or name == "network-policies.yaml"


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_scenarios_sample_soundly(no_leaks, tmp_path, seed):
    """Clusters in pairs (some unreachable from each other), a partition between two
    nodes: classes must not straddle either."""
    shape = scenarios.Shape(clusters=4 + seed, nodes=3, pods=4, paired=True)
    path = tmp_path / "generated.yaml"
    path.write_text(yaml.safe_dump(scenarios.scenario(f"gen{seed}", shape)))
    with kindscape.up(path) as lab:
        lab.partition("c0-worker", "c1-control-plane")
        sampled = _sound(lab)
    assert sampled.probes * 5 < sampled.pairs
