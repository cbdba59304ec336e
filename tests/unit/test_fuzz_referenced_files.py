"""Fuzz: scenario files that reference other files (configFile, NetworkPolicy files) by
every kind of path - inside and outside the tree, through symlinks, to devices, FIFOs,
/proc entries, huge and binary files, and to nothing - validated with the real command
line. Every run exits 1 with located errors, ends within a time bound, and prints no
content of a file outside the scenario's tree."""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kindscape import cli
from kindscape.scenario import files

SECRET = "s3cr3t-6f1d9a"  # in every file outside the tree, and in this process's environment
HASH = "$6$Zq8Tr0ub4dor$N0tAR3alHash"  # a password file's hash: never printed, even when allowed
BOUND = 5.0  # seconds a run may take (a refused file is refused before it is read)
RUNS = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

GOOD_CONFIG = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"


def _make_tree(root: Path) -> dict[str, str]:
    """The tree (root/lab) and what lies outside it; returns the names to reference."""
    lab, outside = root / "lab", root / "outside"
    (lab / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "shadow").write_text(f"root:{HASH}{SECRET}:19000:0:99999:7:::\n"
                                    f"daemon:{HASH}:19000:0:99999:7:::\n")
    (outside / "yaml-like").write_text(f"{SECRET}: {SECRET}\nnodes: [{SECRET}]\nkind: {SECRET}\n")
    (outside / "config.yaml").write_text(GOOD_CONFIG + f"{SECRET}: 1\n")
    (lab / "good.yaml").write_text(GOOD_CONFIG)
    (lab / "sub" / "bad-keys.yaml").write_text(GOOD_CONFIG + "networkin: {}\n'a b: c': 1\n" + "k" * 80 + ": 1\n")
    (lab / "huge.yaml").write_bytes(b"kind: Cluster\n" + b"# padding\n" * (files.MAX_BYTES // 10 + 1))
    (lab / "binary.yaml").write_bytes(bytes(range(256)) * 8)
    (lab / "latin1.yaml").write_bytes("kind: Clüster\n".encode("latin-1"))
    (lab / "empty.yaml").write_text("")
    os.mkfifo(lab / "fifo.yaml")
    for name, target in (("to-shadow", outside / "shadow"), ("to-outside-dir", outside),
                         ("to-zero", "/dev/zero"), ("to-environ", "/proc/self/environ"),
                         ("loop-a", lab / "loop-b"), ("loop-b", lab / "loop-a"), ("dangling", lab / "nothing"),
                         ("to-good", "good.yaml"), ("sub/up", "..")):
        (lab / name).symlink_to(target)
    return {"inside": ["good.yaml", "sub/bad-keys.yaml", "huge.yaml", "binary.yaml", "latin1.yaml",
                       "empty.yaml", "fifo.yaml", "to-good", "sub", "sub/up/good.yaml", "./good.yaml"],
            "escaping": ["to-shadow", "../outside/yaml-like", "to-outside-dir", "to-zero", "to-environ", "../outside/shadow",
                         str(outside / "shadow"), str(outside / "config.yaml"), "sub/up/../outside/shadow",
                         "/proc/self/environ", "/proc/self/status", "/proc/kmsg", "/dev/zero", "/dev/urandom",
                         "/dev/stdin", "/proc/self/fd/0", "/etc/shadow", "/"],
            "broken": ["loop-a", "dangling", "nothing.yaml", "", ".", "..", "a" * 5000, "x/" * 3000,
                       "bad\nname", "tab\tname"]}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-files")
    names = _make_tree(root)
    os.environ["KINDSCAPE_FUZZ_SECRET"] = SECRET  # so that /proc/self/environ holds it
    yield root / "lab", names
    del os.environ["KINDSCAPE_FUZZ_SECRET"]


def _outside_lines(allow: bool) -> list[str]:
    """Distinctive pieces of files outside the tree that must not be printed: none of
    them; with --allow-outside-files (the user means it), still no password file's lines."""
    found = [HASH] if allow else [SECRET, HASH]
    with contextlib.suppress(OSError):
        found += [line.split(":")[1] for line in Path("/etc/shadow").read_text().splitlines()
                  if len(line.split(":")) > 2 and len(line.split(":")[1]) > 8]
    return found


def _scenario(configs: list[str], policy_files: list[str]) -> str:
    def quoted(name: str) -> str:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    lines = ["apiVersion: kindscape/v1alpha1", "kind: Scenario", "name: fuzz", "clusters:"]
    for index, name in enumerate(configs):
        lines += [f"  - name: c{index}", f"    configFile: {quoted(name)}"]
    if policy_files:
        lines.append("networkPolicies:")
        lines += [f"  - {{cluster: c0, file: {quoted(name)}}}" for name in policy_files]
    return "\n".join(lines) + "\n"


def _validate(argv: list[str]) -> tuple[int, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(["validate", *argv])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue() + err.getvalue(), time.monotonic() - started


def _names(tree_names: dict[str, list[str]]):
    return st.sampled_from(tree_names["inside"] + tree_names["escaping"] + tree_names["broken"])


@RUNS
@given(data=st.data(), allow=st.booleans(), as_json=st.booleans())
def test_any_referenced_file_gives_located_errors_quickly_and_leaks_nothing(tree, data, allow, as_json):
    lab, names = tree
    configs = data.draw(st.lists(_names(names), min_size=1, max_size=3))
    policies = data.draw(st.lists(_names(names), max_size=2))
    scenario = lab / "scenario.yaml"
    scenario.write_text(_scenario(configs, policies))
    argv = [str(scenario)] + (["--allow-outside-files"] if allow else []) + (["-o", "json"] if as_json else [])
    code, output, took = _validate(argv)
    assert took < BOUND, (configs, policies, took)
    for secret in _outside_lines(allow):
        assert secret not in output, (configs, policies, output)
    assert "Traceback" not in output
    if all(name in ("good.yaml", "to-good", "sub/up/good.yaml", "./good.yaml") for name in configs) \
            and not policies and len(configs) == 1:
        assert code == 0, output
        return
    assert code == 1, (configs, policies, output)
    located = "scenario.yaml:" in output or '"line":' in output
    assert located, output
    if not allow and any(name in names["escaping"] for name in configs + policies):
        assert "outside the scenario's directory" in output or "not a regular file" in output \
            or "No such file" in output or "Permission denied" in output, output


@pytest.mark.parametrize("name", ["fifo.yaml", "to-zero", "huge.yaml", "binary.yaml", "sub", "to-environ"])
def test_the_scenario_file_itself_is_read_with_the_same_limits(tree, name):
    lab, _ = tree
    code, output, took = _validate([str(lab / name)])
    assert code == 1 and took < BOUND and SECRET not in output and "cannot read the file" in output, output


def test_a_password_file_given_as_the_scenario_prints_no_line_of_it(tree):
    lab, _ = tree
    code, output, took = _validate([str(lab / "to-shadow")])
    assert code == 1 and HASH not in output and SECRET not in output, output
    assert "to-shadow:1: <key not shown>: unknown field" in output
