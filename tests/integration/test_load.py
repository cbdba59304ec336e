"""Load: `check --all` on a scenario with 250+ endpoints (63,000+ probes) stays within a
small, fixed number of open files and threads, even under a low limit on open files,
and reports the same matrix on every run."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import kindscape
from benchmarks.soak import Usage, usage
from kindscape.probe import prober

CLUSTER = """  - name: {name}
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      networking: {{podSubnet: {pods}, serviceSubnet: {services}}}
      nodes: [{{role: control-plane}}, {{role: worker}}, {{role: worker}}, {{role: worker}}]
    podsPerNode: 31
"""
SCENARIO = ("apiVersion: kindscape/v1alpha1\nkind: Scenario\nname: load\nclusters:\n"
            + CLUSTER.format(name="big-a", pods="10.110.0.0/16", services="10.115.0.0/16")
            + CLUSTER.format(name="big-b", pods="10.220.0.0/16", services="10.225.0.0/16")
            + "interconnect:\n  - clusters: [big-a, big-b]\n")
FD_LIMIT = 64


def _check_all(limit: int | None) -> tuple[list[tuple], list[Usage]]:
    """Run `kindscape check load --all -o json` (under a limit on open files); returns the
    matrix and the process's usage, sampled while it ran."""
    prefix = ["prlimit", f"--nofile={limit}:{limit}"] if limit else []
    proc = subprocess.Popen([*prefix, "kindscape", "check", "load", "--all", "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[Usage] = []

    def sample() -> None:
        while proc.poll() is None:
            try:
                samples.append(usage(proc.pid))
            except (OSError, KeyError, IndexError):  # exiting
                return
            time.sleep(0.02)
    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate(timeout=240)
    sampler.join()
    assert proc.returncode == 0, err[-2000:]
    results = json.loads(out)["results"]
    matrix = sorted((r["from"], r["to"], r["toAddress"], r["reachable"], r["seenSource"], r["answeredBy"])
                    for r in results)
    return matrix, samples


def test_check_all_on_250_endpoints_is_bounded_and_repeatable(no_leaks, tmp_path):
    path = tmp_path / "load.yaml"
    path.write_text(SCENARIO)
    with kindscape.up(path) as lab:
        assert len(lab.topology.pods) + len(lab.topology.nodes) >= 250
        pods = {pod.name: str(pod.addresses[0]) for pod in lab.topology.pods}
        limited, limited_usage = _check_all(FD_LIMIT)
        free, free_usage = _check_all(None)
    assert len(limited) == 256 * 248 - 248  # every pod and node to every other pod
    assert all(row[3] for row in limited)
    # Who saw whom: every pod is seen with its own address (interconnect: no NAT).
    assert {(row[0], row[4]) for row in limited if row[0] in pods} == set(pods.items())
    assert limited == free  # the same matrix, whatever the limit
    assert max(s.fds for s in limited_usage) <= FD_LIMIT
    # The main thread and the prober's epoll loops (one per core, see prober.run).
    assert max(s.threads for s in limited_usage + free_usage) <= 1 + prober.DEFAULT_WORKERS
    assert max(s.fds for s in free_usage) <= 512 + 64  # the prober's bound, plus a few
