"""The command-line conventions kind, kubectl and containerlab users expect, through the
real console script: --name and stdin, exit status 0/1/2/3, an idempotent down, list,
-o yaml, -v, group exec."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.conftest import EXAMPLES

SEED = EXAMPLES / "multi-cluster.yaml"


def _kindscape(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["kindscape", *args], capture_output=True, text=True, input=input, timeout=120)


@pytest.fixture
def twins(no_leaks):
    """The seed file up twice side by side: once from the file, once from stdin."""
    first = _kindscape("up", str(SEED), "--name", "twin-a", "-o", "json")
    second = _kindscape("up", "-", "--name", "twin-b", "-o", "json", input=SEED.read_text())
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        assert second.returncode == 0, second.stdout + second.stderr
        yield json.loads(first.stdout), json.loads(second.stdout)
    finally:
        for name in ("twin-a", "twin-b"):
            _kindscape("down", name)


def test_one_file_runs_twice_side_by_side_under_two_names(twins):
    first, second = twins
    assert (first["name"], second["name"]) == ("twin-a", "twin-b")
    for name in ("twin-a", "twin-b"):
        done = _kindscape("check", name, "-o", "json")
        assert done.returncode == 0 and json.loads(done.stdout)["ok"], done.stdout
    listed = json.loads(_kindscape("list", "-o", "json").stdout)["scenarios"]
    assert [(s["name"], s["runtime"], s["phase"], s["clusters"], s["nodes"], s["pods"], s["hosts"])
            for s in listed] == [("twin-a", "netns", "up", 2, 4, 4, 0), ("twin-b", "netns", "up", 2, 4, 4, 0)]
    table = _kindscape("list").stdout.splitlines()
    assert table[0].split() == ["NAME", "RUNTIME", "PHASE", "CLUSTERS", "NODES", "PODS", "HOSTS", "AGE"]
    assert [line.split()[:7] for line in table[1:]] == [["twin-a", "netns", "up", "2", "4", "4", "0"],
                                                        ["twin-b", "netns", "up", "2", "4", "4", "0"]]


def test_yaml_output_is_the_json_document(twins):
    as_json = json.loads(_kindscape("status", "twin-a", "-o", "json").stdout)
    as_yaml = yaml.safe_load(_kindscape("status", "twin-a", "-o", "yaml").stdout)
    assert as_yaml == as_json
    check = _kindscape("check", "twin-a", "-o", "yaml")
    assert check.returncode == 0 and yaml.safe_load(check.stdout)["ok"] is True


def test_exit_status_tells_a_no_from_a_broken_run(twins):
    assert _kindscape("check", "nothing-up").returncode == 3
    assert _kindscape("status", "nothing-up").returncode == 3
    assert _kindscape("trace", "nothing-up", "a", "b").returncode == 3
    assert _kindscape("exec", "nothing-up", "docker-host", "--", "true").returncode == 3
    broken = _kindscape("check", "nothing-up", "-o", "json")
    assert broken.returncode == 3 and json.loads(broken.stdout) == {
        "ok": False, "error": "no scenario named 'nothing-up' is up (up: twin-a, twin-b)"}
    assert broken.stderr == ""
    assert _kindscape("check", "twin-a", "--bogus").returncode == 2
    assert _kindscape("check").returncode == 2
    cut = _kindscape("partition", "twin-a", "cluster-a", "cluster-b")
    assert cut.returncode == 0, cut.stderr
    failed = _kindscape("check", "twin-a", "-o", "json")
    assert failed.returncode == 1 and json.loads(failed.stdout)["ok"] is False


def test_down_of_a_scenario_that_is_not_up_says_so_and_exits_0(no_leaks):
    done = _kindscape("down", "never-up")
    assert (done.returncode, done.stderr) == (0, "")
    assert "no scenario named 'never-up' is up" in done.stdout and "nothing to do" in done.stdout
    as_json = json.loads(_kindscape("down", "never-up", "-o", "json").stdout)
    assert as_json == {"ok": True, "name": "never-up", "removed": [], "wasUp": False}


def test_group_exec_prefixes_each_line_and_exits_with_the_highest_status(twins):
    done = _kindscape("exec", "twin-a", "cluster-a/pods", "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sorted(line.split(": ", 1)[0] for line in lines) == ["cluster-a-control-plane/pod1",
                                                               "cluster-a-worker/pod1"]
    assert all(" eth0 " in line and "inet 10.110." in line for line in lines), lines
    nodes = _kindscape("exec", "twin-a", "cluster-b/nodes", "--", "sh", "-c", "hostname; exit 0")
    assert nodes.returncode == 0 and len(nodes.stdout.splitlines()) == 2
    mixed = _kindscape("exec", "twin-a", "cluster-a/pods", "--", "sh", "-c",
                       'ip -o addr show dev eth0 | grep -q "10.110.0." && exit 4; echo fine; exit 0')
    assert mixed.returncode == 4, mixed.stdout + mixed.stderr
    assert mixed.stdout.splitlines() == ["cluster-a-worker/pod1: fine"]


def test_verbose_logs_each_command_and_kernel_batch(no_leaks):
    done = _kindscape("-v", "up", str(SEED), "--name", "loud")
    try:
        assert done.returncode == 0, done.stderr
        logged = [line for line in done.stderr.splitlines() if line.startswith("run: ")]
        assert any(line.startswith("run: nft -f - (") and line.endswith(" s)") for line in logged), logged
        assert any(line.startswith("run: netlink links: ") for line in logged), logged
        quiet = _kindscape("exec", "loud", "docker-host", "--", "true")
        assert "run:" not in quiet.stderr
        theirs = _kindscape("exec", "loud", "docker-host", "--", "echo", "-v")  # after --: the command's
        assert (theirs.stdout, theirs.stderr) == ("-v\n", "")
        loud = _kindscape("exec", "-v", "loud", "docker-host", "--", "true")
        assert "netns exec ks.loud.docker-host true (" in loud.stderr, loud.stderr
    finally:
        _kindscape("down", "loud")


PARTITIONED = """
expectWhen:
  partitioned-a-b:
    - {from: cluster-a/pods, to: cluster-b/pods, reachable: false}
    - {from: cluster-a-worker/pod1, to: cluster-a-control-plane/pod1, seenSource: cluster-a-worker/pod1}
"""


def test_check_verifies_the_expectation_set_it_is_given(no_leaks, tmp_path):
    scenario = tmp_path / "sets.yaml"
    scenario.write_text(SEED.read_text() + PARTITIONED)
    assert _kindscape("up", str(scenario), "--name", "sets").returncode == 0
    try:
        assert _kindscape("check", "sets").returncode == 0
        before = _kindscape("check", "sets", "--expect", "partitioned-a-b", "-o", "json")
        assert before.returncode == 1, before.stdout
        assert [e["met"] for e in json.loads(before.stdout)["expectations"]] == [False, True]
        assert _kindscape("partition", "sets", "cluster-a", "cluster-b").returncode == 0
        assert _kindscape("check", "sets", "--expect", "partitioned-a-b").returncode == 0
        assert _kindscape("check", "sets").returncode == 1
        unknown = _kindscape("check", "sets", "--expect", "healed")
        assert unknown.returncode == 3 and "no expectation set 'healed'" in unknown.stderr
        wrong = tmp_path / "wrong.yaml"
        wrong.write_text("expect:\n  - {from: cluster-a/pods, to: cluster-c/pods}\n")
        invalid = _kindscape("check", "sets", "--expect", str(wrong))
        assert invalid.returncode == 1 and f"{wrong}:2: expect[0].to: unknown cluster 'cluster-c'" in invalid.stderr
    finally:
        _kindscape("down", "sets")


SERVICES = EXAMPLES / "services.yaml"
WEB_BACKENDS = ["cluster-a-worker/pod1", "cluster-a-worker/pod2", "cluster-a-worker2/pod1", "cluster-a-worker2/pod2"]


def test_seen_source_answered_by_and_answers_per_backend(no_leaks, tmp_path):
    assert _kindscape("up", str(SERVICES)).returncode == 0
    try:
        expectations = tmp_path / "web.yaml"
        expectations.write_text(
            "expect:\n"
            "  - from: cluster-a-control-plane/pod1\n    to: cluster-a/svc/web\n"
            f"    seenSource: cluster-a-control-plane/pod1\n    answeredBy: {json.dumps(WEB_BACKENDS)}\n")
        done = _kindscape("check", "services", "--expect", str(expectations), "--measure", "--probes", "60",
                          "-o", "json")
        assert done.returncode == 0, done.stdout
        doc = json.loads(done.stdout)
        [result] = doc["results"]
        assert sorted(result["answers"]) == WEB_BACKENDS and sum(result["answers"].values()) == 60
        assert doc["expectations"][0]["answeredBy"] == WEB_BACKENDS and doc["expectations"][0]["unanswered"] == []
        table = _kindscape("check", "services", "--expect", str(expectations), "--measure", "--probes", "60")
        assert all(backend in table.stdout for backend in WEB_BACKENDS), table.stdout
        expectations.write_text(
            "expect:\n"
            "  - {from: cluster-a-control-plane/pod1, to: cluster-a/svc/web, seenSource: 10.0.0.1}\n"
            f"  - {{from: cluster-a-control-plane/pod1, to: cluster-a/svc/web, answeredBy: {WEB_BACKENDS[:2]}}}\n")
        failed = _kindscape("check", "services", "--expect", str(expectations), "--measure", "--probes", "60",
                            "-o", "json")
        assert failed.returncode == 1
        assert [e["met"] for e in json.loads(failed.stdout)["expectations"]] == [False, False]
    finally:
        _kindscape("down", "services")
