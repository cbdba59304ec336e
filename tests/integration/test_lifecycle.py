"""Lifecycle safety: nothing leaks after down, after a crash of up (SIGKILL at many
points), or when the state file is gone; two scenarios with the same subnets coexist."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import kindscape
from kindscape import state as statefile
from tests.conftest import EXAMPLES
from tests.machine import snapshot

SEED = EXAMPLES / "multi-cluster.yaml"


def _up_cli(path, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(["kindscape", "up", str(path), "-o", "json"], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("kill_at", ["namespaces:1", "namespaces:9", "bridges:1", "links:4",
                                     "addresses:9", "routes:8", "rulesets:5", "workloads:0", "workloads:1"])
def test_sigkill_during_up_then_down_leaves_nothing(kill_at, no_leaks):
    done = _up_cli(SEED, {"KINDSCAPE_TEST_KILL_AT": kill_at})
    assert done.returncode == -9, (done.returncode, done.stderr)
    again = _up_cli(SEED)
    assert again.returncode == 1 and "kindscape down multi-cluster" in again.stdout  # -o json: errors as JSON
    down = subprocess.run(["kindscape", "down", "multi-cluster"], capture_output=True, text=True)
    assert down.returncode == 0, down.stderr


def test_down_without_state_file_finds_everything_by_its_marks(no_leaks):
    kindscape.up(SEED)
    shutil.rmtree(statefile.scenario_dir("multi-cluster"))
    removed = kindscape.down("multi-cluster")
    assert sum(1 for r in removed if r.startswith("namespace ")) == 11  # with each cluster's CoreDNS pod
    assert sum(1 for r in removed if r.startswith("process ")) == 1


def test_down_of_nothing_is_a_clear_error(no_leaks):
    with pytest.raises(kindscape.KindscapeError, match="no scenario named 'nothing-here'"):
        kindscape.down("nothing-here")


def test_up_then_down_restores_the_machine_exactly(no_leaks):
    before = snapshot()
    lab = kindscape.up(SEED)
    during = snapshot()
    # While up, the machine's own network is untouched; only namespaces, state, the server
    # and the pods' resolv.conf (under /etc/netns, for `ip netns exec`) appear.
    changed = set(during.diff(before))
    assert changed <= {"namespaces", "processes", "state", "etc_netns"}, during.diff(before)
    lab.down()
    assert snapshot().diff(before) == {}


def test_two_scenarios_with_identical_subnets_side_by_side(no_leaks, tmp_path):
    twin = tmp_path / "twin.yaml"
    twin.write_text(SEED.read_text().replace("name: multi-cluster", "name: twin"))
    with kindscape.up(SEED) as first, kindscape.up(twin) as second:
        assert first.check().ok and second.check().ok
        second.down()
        assert first.check().ok  # the other one's down touched only its own
        assert first.status()["healthy"]
