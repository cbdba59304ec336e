"""Unreachable pairs are decided as fast as reachable ones wherever the network says so:
docker-host answers every packet it has no route for with "network unreachable" (the
kernel's own answer is rate-limited per source address machine-wide, about one a second
per node after a burst of five), and the routers' ICMP limits let every such answer out.
A partition (a silent drop) still ends in a timeout."""

from __future__ import annotations

import time

import yaml

import kindscape
from tests.labs import pairs

EXAMPLE = "examples/multi-cluster-isolated.yaml"


def _isolated(tmp_path, pods_per_node: int):
    doc = yaml.safe_load(open(EXAMPLE))
    doc["name"] = "unreach"
    for cluster in doc["clusters"]:
        cluster["podsPerNode"] = pods_per_node
    path = tmp_path / "unreach.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_every_unreachable_pair_is_answered_not_timed_out(no_leaks, tmp_path):
    # 6 pods a node: each node's pods send 72 probes to the other cluster, well past the
    # kernel's burst of five answers per source, all within the first second.
    with kindscape.up(_isolated(tmp_path, 6)) as lab:
        started = time.monotonic()
        report = lab.check(timeout=10.0)
        took = time.monotonic() - started
        across = pairs(report, "cluster-a", "cluster-b") + pairs(report, "cluster-b", "cluster-a")
        lab.partition("cluster-a", "cluster-b")
        cut = lab.check(timeout=0.3)
    assert report.ok, report.failures[:3]
    assert len(across) == 2 * 12 * 12
    assert {r.error for r in across} == {"network unreachable"}
    assert took < 10.0  # one probe timeout would be 10 s: none was waited for
    # A partition drops silently: no answer, a timeout is the verdict.
    assert {r.error for r in pairs(cut, "cluster-a", "cluster-b")} == {"timed out"}
