"""The tools around the core on real namespaces: the README's Python API example runs and
prints what the README says; the `kindscape_lab` fixture (used here, and run in a child
pytest through its entry point) takes scenarios down even when a test fails; `graph`
draws a running scenario from its state."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import kindscape
from tests.conftest import EXAMPLES, ROOT
from tests.pluginrun import run_pytest

README = (ROOT / "README.md").read_text()


def _readme_block(section: str, language: str) -> str:
    """The first ```language block after a README heading."""
    text = README[README.index(section):]
    return re.search(rf"```{language}\n(.*?)```", text, re.S).group(1)


def test_the_readme_python_example_runs_as_documented(no_leaks, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_readme_block("## Python API", "python"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    printed = [line.rstrip() for line in done.stdout.splitlines()]
    documented = _readme_block("prints\n", "").strip().splitlines()
    assert printed == documented


def test_the_fixture_brings_up_and_graph_draws_the_running_scenario(no_leaks, kindscape_lab, tmp_path):
    lab = kindscape_lab(EXAMPLES / "multi-cluster.yaml")
    assert lab.status()["phase"] == "up"
    written = kindscape.graph("multi-cluster", tmp_path / "running.svg")
    texts = [" ".join((t.text or "").split()) for t in ET.parse(written).getroot().iter()
             if t.tag.endswith("text")]
    assert "multi-cluster: up (netns runtime)" in texts
    assert {"172.18.0.5", "10.220.1.0/24", "10.220.1.2"} <= set(texts)
    done = subprocess.run(["kindscape", "graph", "multi-cluster", "-o", str(tmp_path / "cli.dot")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == f"graph: wrote {tmp_path / 'cli.dot'}\n"
    assert 'label="multi-cluster: up (netns runtime)"' in (tmp_path / "cli.dot").read_text()


def test_the_fixture_runs_one_file_under_two_names(no_leaks, kindscape_lab):
    """As two pytest-xdist workers would: the same file, side by side."""
    first = kindscape_lab(EXAMPLES / "multi-cluster.yaml", name="worker-gw0")
    second = kindscape_lab(str(EXAMPLES / "multi-cluster.yaml"), name="worker-gw1")
    assert (first.name, second.name) == ("worker-gw0", "worker-gw1")
    assert first.check().ok and second.check().ok
    assert sorted(kindscape.api.list_up()) == ["worker-gw0", "worker-gw1"]


FAILING_TESTS = '''
import kindscape

def test_fails_with_a_lab_up(kindscape_lab):
    lab = kindscape_lab("examples/multi-cluster.yaml")
    assert lab.check().ok
    assert False, "the test fails; the fixture must still take the scenario down"

def test_raises_with_two_labs_up(kindscape_lab):
    kindscape_lab("examples/multi-cluster.yaml")
    kindscape_lab(kindscape.load("examples/multi-cluster-isolated.yaml"))
    raise RuntimeError("boom")

def test_scenario_is_gone_after_the_failures():
    assert kindscape.status() == {"scenarios": [], "notUp": []}
'''


def test_the_fixture_takes_labs_down_when_tests_fail(no_leaks, tmp_path):
    (tmp_path / "test_failing.py").write_text(FAILING_TESTS)
    (tmp_path / "test_readme.py").write_text(_readme_block("### The pytest plugin", "python"))
    done = run_pytest(tmp_path, str(tmp_path / "test_failing.py"), str(tmp_path / "test_readme.py"))
    assert done.returncode == 1, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"2 failed, 2 passed", summary), done.stdout
    assert "the test fails; the fixture must still take the scenario down" in done.stdout
    assert "RuntimeError: boom" in done.stdout
    assert kindscape.status() == {"scenarios": [], "notUp": []}  # and no_leaks checks the machine


def test_the_six_region_example_meets_its_expectations(no_leaks, kindscape_lab):
    lab = kindscape_lab(EXAMPLES / "six-regions.yaml")
    report = lab.check()
    assert report.ok, report.failures
    across = [r for r in report.results if r.task.source.startswith("eu-west-") and r.task.target.startswith("us-east-")]
    assert across and all(r.reachable and r.source_preserved is False for r in across)  # masqueraded


def test_leaving_the_with_block_on_an_error_takes_the_scenario_down(no_leaks):
    scenario = kindscape.load(EXAMPLES / "multi-cluster.yaml")
    with pytest.raises(RuntimeError, match="^the block fails$"):  # the block's own error
        with kindscape.up(scenario, runtime="netns") as lab:
            assert kindscape.status()["scenarios"][0]["name"] == "multi-cluster"
            raise RuntimeError("the block fails")
    assert lab.is_down and kindscape.status() == {"scenarios": [], "notUp": []}
    assert lab.down() == []  # a second down is a no-op


def test_exec_wants_an_argv_list(kindscape_lab):
    lab = kindscape_lab(EXAMPLES / "multi-cluster.yaml")
    with pytest.raises(TypeError, match=re.escape("e.g. ['ip', 'route'], not a string")):
        lab.exec("cluster-a-worker", "ip route")
