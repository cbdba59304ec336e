"""`kindscape up` through the real console script, with its cache of resolved topologies:
the second `up` of a file takes its topology from the cache and makes the same scenario;
a changed file is validated again, and an invalid one creates nothing."""

from __future__ import annotations

import json
import os
import subprocess

from kindscape import state as statefile
from tests.conftest import EXAMPLES

SEED = EXAMPLES / "multi-cluster.yaml"
NAME = "cache-seed"


def _kindscape(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kindscape", *args], capture_output=True, text=True, timeout=120)


def _up(path) -> tuple[dict, str]:
    done = _kindscape("up", str(path), "--name", NAME, "-o", "json", "-v")
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout), done.stderr
    finally:
        _kindscape("down", NAME)


def test_the_second_up_takes_the_topology_from_the_cache_and_makes_the_same_scenario(no_leaks, tmp_path):
    scenario = tmp_path / "seed.yaml"
    scenario.write_text(SEED.read_text())
    first, said = _up(scenario)
    assert "not validated before" in said
    second, said = _up(scenario)
    assert "validated before: its topology from the cache" in said
    assert (second["clusters"], second["networks"]) == (first["clusters"], first["networks"])
    cache = os.path.join(statefile.STATE_ROOT, ".topologies")
    assert os.stat(cache).st_mode & 0o777 == 0o700
    assert all(os.stat(os.path.join(cache, entry)).st_mode & 0o777 == 0o600 for entry in os.listdir(cache))


def test_a_file_changed_after_its_up_is_validated_again_and_refused_when_invalid(no_leaks, tmp_path):
    scenario = tmp_path / "seed.yaml"
    scenario.write_text(SEED.read_text())
    _up(scenario)
    scenario.write_text(SEED.read_text().replace('podSubnet: "10.220.0.0/16"', 'podSubnet: "10.110.0.0/16"'))
    done = _kindscape("up", str(scenario), "--name", NAME, "-v")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "overlap" in done.stderr and "not validated before" in done.stderr
    assert NAME not in statefile.names()
