"""A scenario whose state is damaged or another version's, or whose workload server died:
the commands say which and what to do, never a traceback, never a verdict built on a dead
process; `down --force` removes such a scenario by its ownership marks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import kindscape
from kindscape import state as statefile
from kindscape.linux import processes
from tests.conftest import EXAMPLES

SEED = EXAMPLES / "multi-cluster.yaml"
NAME = "multi-cluster"


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kindscape", *argv], capture_output=True, text=True, timeout=60)


def _rewrite_state(change) -> None:
    path = statefile.state_path(NAME)
    with open(path) as handle:
        data = json.load(handle)
    with open(path, "w") as handle:
        handle.write(change(data))


def _older_version(data: dict) -> str:  # what a kindscape before format 1 wrote (no topology fields it knew)
    data.pop("format")
    data.pop("madeBy")
    data["topology"] = {"scenario": NAME, "clusters": []}
    return json.dumps(data)


def _newer_version(data: dict) -> str:
    return json.dumps({**data, "format": statefile.STATE_FORMAT + 1, "madeBy": "9.9.9"})


@pytest.mark.parametrize("change, says", [
    (lambda data: '{"name": "multi-cluster", "namespa', "it is damaged"),  # e.g. a full disk
    (lambda data: json.dumps({**data, "namespaces": 7}), "it is damaged ('namespaces'"),
    (_older_version, "no format version"),
    (_newer_version, "format 2"),
])
def test_an_unreadable_state_is_named_and_removed_by_down_force(change, says, no_leaks):
    kindscape.up(SEED)
    try:
        _rewrite_state(change)
        _commands_refuse(says, down=True)
        if "format 2" in says:
            assert f"`kindscape down {NAME}` with the kindscape that made it (9.9.9)" in _cli("down", NAME).stderr
        # status of everything still answers, listing this one as unreadable
        listing = _cli("status", "-o", "json")
        assert listing.returncode == 0, listing.stderr
        [entry] = json.loads(listing.stdout)["notUp"]
        assert entry["phase"] == "unreadable" and says in entry["reason"]
        assert says in _cli("status").stdout
        assert os.path.exists(statefile.state_path(NAME))  # down without --force removed nothing
    finally:
        forced = _cli("down", "--force", NAME)
    assert forced.returncode == 0, forced.stderr
    assert "removed (" in forced.stdout and not os.path.exists(statefile.scenario_dir(NAME))


def _commands_refuse(says: str, down: bool) -> None:
    for argv in (["check", NAME], ["status", NAME], ["exec", NAME, "cluster-a-worker", "--", "true"],
                 ["trace", NAME, "cluster-a-worker/pod1", "cluster-b-worker/pod1"]) + ((["down", NAME],) if down else ()):
        done = _cli(*argv)
        assert done.returncode != 0 and "Traceback" not in done.stderr, (argv, done.stderr)
        assert says in done.stderr and f"kindscape down --force {NAME}" in done.stderr, (argv, done.stderr)


def test_a_state_whose_topology_does_not_decode_is_damaged_and_down_still_removes_it(no_leaks):
    """`down` needs the state's records, not its topology: those still remove everything."""
    kindscape.up(SEED)
    try:
        _rewrite_state(lambda data: json.dumps({**data, "topology": {"scenario": NAME, "clusters": 5}}))
        _commands_refuse("it is damaged (its topology does not decode", down=False)
    finally:
        done = _cli("down", NAME)
    assert done.returncode == 0 and "removed (" in done.stdout, done.stderr  # the leak check: everything


def _server(lab) -> dict:
    [record] = statefile.load(lab.name).processes
    assert processes.alive(record)
    return record


def test_a_killed_workload_server_is_restarted_before_check_trace_and_exec(no_leaks):
    with kindscape.up(SEED) as lab:
        for argv in (["check", NAME], ["trace", NAME, "cluster-a-worker/pod1", "cluster-b-worker/pod1"],
                     ["exec", NAME, "cluster-a-worker/pod1", "--", "true"]):
            dead = _server(lab)
            os.kill(dead["pid"], signal.SIGKILL)
            while processes.alive(dead):
                time.sleep(0.01)
            done = _cli(*argv)
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
            assert f"(pid {dead['pid']}), which answers every probe, died: restarted it" in done.stderr
            assert _server(lab)["pid"] != dead["pid"]
        report = json.loads(_cli("check", NAME, "--all", "-o", "json").stdout)
        assert all(r["reachable"] for r in report["results"] if r["to"].endswith("/pod1"))


def test_a_server_that_cannot_be_restarted_refuses_with_exit_3(no_leaks):
    with kindscape.up(SEED) as lab:
        dead = _server(lab)
        os.unlink(processes.spec_path_of(statefile.scenario_dir(NAME), "workloads"))
        os.kill(dead["pid"], signal.SIGKILL)
        while processes.alive(dead):
            time.sleep(0.01)
        done = _cli("check", NAME)
        assert done.returncode == 3 and "unreachable" not in done.stdout, done.stdout
        assert (f"the workloads server of scenario {NAME!r} (pid {dead['pid']}), which answers every probe, "
                f"died, and its spec is gone" in done.stderr), done.stderr
        assert f"kindscape down {NAME}" in done.stderr
