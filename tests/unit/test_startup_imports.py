"""`status` and `check` start with the modules they need and no more (issue 14: neither may
start slower than before the redesign; benchmarks/startup_compare.py measures it). Each
command runs in a fresh interpreter on a state file written here (the seed example, as
if up: its namespaces are missing, so `check` stops before probing, and its report's
table module is imported after it); then what it loaded is compared with what it must
not load. A module set, not a timing: it fails the day an import creeps back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "multi-cluster.yaml"

# Each costs 9-60M instructions (1.5-10 ms) and none is needed to show or probe a scenario
# without NetworkPolicies: the full argparse parser (quickcli parses plain command lines),
# logging (and concurrent.futures, which imports it), NetworkPolicy's model, the plan's
# operations, the schema (pydantic).
# rich: tables into a pipe are render/view.py's plain text; statistics: only --measure.
NEVER = {"argparse", "logging", "concurrent.futures", "kindscape.cliparser", "kindscape.netpol",
         "kindscape.runtimes.netns.ops", "kindscape.plan.linux_ops", "kindscape.scenario", "pydantic", "typer",
         "rich", "statistics"}
# status does not probe
NOT_FOR_STATUS = {"kindscape.probe.prober", "kindscape.probe.checks", "kindscape.render.tables"}

SETUP = """import sys
from kindscape import api, codec, state as statefile
scenario = api.load(sys.argv[1])
statefile.save(statefile.ScenarioState(scenario.name, "netns", phase="up",
                                       topology=codec.encode(scenario.topology)))
"""
RUN = """import importlib, json, sys
from kindscape import cli
argv, after = json.loads(sys.argv[1])
try:
    cli.main(argv)
except SystemExit as exc:
    code = exc.code
for module in after:
    importlib.import_module(module)
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory) -> str:
    directory = str(tmp_path_factory.mktemp("state"))
    subprocess.run([sys.executable, "-c", SETUP, str(EXAMPLE)], check=True, timeout=60,
                   env={**os.environ, "KINDSCAPE_STATE_DIR": directory})
    return directory


def _loaded(state_dir: str, argv: list[str], after: tuple[str, ...] = ()) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", RUN, json.dumps([argv, after])], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "KINDSCAPE_STATE_DIR": state_dir})
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


@pytest.mark.parametrize("argv", [["status"], ["status", "-o", "json"], ["status", "multi-cluster"],
                                  ["list"]], ids=" ".join)
def test_status_starts_without_the_prober_the_plan_or_argparse(state_dir, argv):
    code, modules = _loaded(state_dir, argv)
    assert code == 0
    assert "kindscape.topology" in modules  # it did read the scenario
    assert not modules & (NEVER | NOT_FOR_STATUS)


@pytest.mark.parametrize("argv", [["check", "multi-cluster"], ["check", "multi-cluster", "-o", "json"]],
                         ids=" ".join)
def test_check_starts_without_the_plan_argparse_or_logging(state_dir, argv):
    code, modules = _loaded(state_dir, argv, after=("kindscape.render.tables",))
    assert code == 3  # its namespaces are missing: refused before probing
    assert {"kindscape.probe.checks", "kindscape.probe.prober"} <= modules  # it got as far as the prober
    assert not modules & NEVER


def test_the_guard_sees_a_module_that_creeps_back(state_dir):
    """The check above can fail: a policy's model loaded by status is seen."""
    _, modules = _loaded(state_dir, ["status"], after=("kindscape.netpol",))
    assert modules & NEVER == {"kindscape.netpol"}


def test_down_starts_without_the_topology(tmp_path):
    """`down` needs the state file and the marks, not the topology's types (~100M
    instructions of dataclasses): removal.py, not api.py."""
    state_dir = str(tmp_path)
    subprocess.run([sys.executable, "-c", SETUP, str(EXAMPLE)], check=True, timeout=60,
                   env={**os.environ, "KINDSCAPE_STATE_DIR": state_dir})
    code, modules = _loaded(state_dir, ["down", "multi-cluster", "-o", "json"])
    assert code == 0  # its namespaces were never made: nothing to remove, and its state is gone
    assert "kindscape.removal" in modules and "kindscape.runtimes.netns.runtime" in modules
    assert not modules & (NEVER | {"kindscape.topology", "kindscape.codec", "kindscape.api", "kindscape.running"})
