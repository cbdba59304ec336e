"""`--version` and shell completion, through a real bash: the script `kindscape
completion bash` prints, sourced and called as bash calls it on <TAB>."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kindscape
from kindscape import codec
from kindscape.state import STATE_FORMAT, ScenarioState
from tests.conftest import EXAMPLES, ROOT


@pytest.fixture
def command(tmp_path) -> dict[str, str]:
    """An environment whose `kindscape` on PATH runs this checkout, with its own state dir
    and HOME (completion installs into HOME)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kindscape"
    script.write_text(f"#!{sys.executable}\nfrom kindscape.cli import main\nmain()\n")
    script.chmod(0o755)
    (tmp_path / "home").mkdir()
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", PYTHONPATH=str(ROOT / "src"),
                HOME=str(tmp_path / "home"), KINDSCAPE_STATE_DIR=str(tmp_path / "state"))


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)


def _complete(words: str, env: dict[str, str]) -> list[str]:
    """What bash offers for `words<TAB>`, with the script `completion bash` prints."""
    done = _bash(f'source <(kindscape completion bash); COMP_WORDS=({words}); '
                 f'COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); '
                 '[[ "' + words + '" == *" " ]] && COMP_WORDS+=("") && COMP_CWORD=$(( COMP_CWORD + 1 )); '
                 '_kindscape kindscape; printf "%s\\n" "${COMPREPLY[@]}"', env)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_version_is_the_package_version(command):
    done = subprocess.run(["kindscape", "--version"], capture_output=True, text=True, env=command)
    assert (done.returncode, done.stdout) == (0, f"kindscape {kindscape.__version__}\n")


def test_version_matches_the_project_metadata():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'attr = "kindscape.__version__"' in text


def test_bash_completes_commands_and_options(command):
    assert _complete("kindscape gr", command) == ["graph"]
    assert _complete("kindscape s", command) == ["status", "schema"]
    assert "--runtime" in _complete("kindscape up --r", command)


def _save_state(state_dir: Path, name: str, extra: str = "") -> None:
    topology = kindscape.loads((EXAMPLES / "multi-cluster.yaml").read_text() + extra).topology
    state = ScenarioState(name, "netns", phase="up", topology=codec.encode(topology))
    (state_dir / name).mkdir(parents=True)
    document = {"format": STATE_FORMAT, **dataclasses.asdict(state)}
    (state_dir / name / "state.json").write_text(json.dumps(document))


def test_bash_completes_scenario_names_and_endpoints(command):
    state_dir = Path(command["KINDSCAPE_STATE_DIR"])
    _save_state(state_dir, "multi-cluster")
    _save_state(state_dir, "other")
    assert _complete("kindscape down mu", command) == ["multi-cluster"]
    assert _complete("kindscape check ", command) == ["multi-cluster", "other"]
    assert _complete("kindscape exec multi-cluster cluster-b-w", command) == \
        ["cluster-b-worker", "cluster-b-worker/pod1"]
    assert "docker-host" in _complete("kindscape exec multi-cluster d", command)


def test_completion_of_names_without_state_offers_nothing(command):
    assert _complete("kindscape down ", command) == []
    assert _complete("kindscape exec nothing-up c", command) == []


def test_completion_covers_every_endpoint_and_side_argument(command):
    _save_state(Path(command["KINDSCAPE_STATE_DIR"]), "multi-cluster")
    for words in ("trace multi-cluster cluster-a-w", "trace multi-cluster cluster-b-worker/pod1 cluster-a-w",
                  "capture multi-cluster cluster-a-w"):
        assert "cluster-a-worker/pod1" in _complete(f"kindscape {words}", command), words
    assert "cluster-a/pods" in _complete("kindscape exec multi-cluster cluster-a/", command)
    for command_name in ("impair", "partition", "heal"):
        assert _complete(f"kindscape {command_name} multi-cluster clu", command) == \
            ["cluster-a", "cluster-b", "cluster-a-control-plane", "cluster-a-worker", "cluster-b-control-plane",
             "cluster-b-worker"]
        assert "kind" in _complete(f"kindscape {command_name} multi-cluster cluster-a ", command)
    for command_name in ("trace", "status", "list", "check", "impair", "graph", "down", "exec", "capture"):
        if command_name != "list":
            assert _complete(f"kindscape {command_name} m", command) == ["multi-cluster"], command_name


def test_completion_of_files_and_option_values(command, tmp_path):
    (tmp_path / "scenario-one.yaml").write_text("")
    env = dict(command)
    prefix = str(tmp_path / "scenario-o")
    for words in (f"validate {prefix}", f"plan {prefix}", f"up {prefix}", f"graph {prefix}",
                  f"validate a.yaml {prefix}"):
        assert _complete(f"kindscape {words}", env) == [str(tmp_path / "scenario-one.yaml")], words
    assert _complete("kindscape up -o ", env) == ["table", "json", "yaml"]
    assert _complete("kindscape plan s.yaml --runtime ", env) == ["netns", "kind"]
    assert _complete("kindscape completion ", env) == ["bash", "zsh"]


def test_completion_of_expectation_sets(command):
    _save_state(Path(command["KINDSCAPE_STATE_DIR"]), "multi-cluster",
                "expectWhen:\n  cut: [{from: cluster-a/pods, to: cluster-b/pods, reachable: false}]\n"
                "  cut-back: [{from: cluster-b/pods, to: cluster-a/pods, reachable: false}]\n")
    assert _complete("kindscape check multi-cluster --expect cu", command) == ["cut", "cut-back"]
