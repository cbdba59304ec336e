"""Files a scenario references are read as untrusted input: inside the scenario's directory
tree (symlinks resolved) unless allowed, regular files only, at most 1 MiB, never
blocking, and refused without echoing a byte of them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import kindscape
from kindscape.errors import ScenarioError
from kindscape.scenario import files

SECRET = "root:$6$s3cr3tHash$abcdefghijklmnop:19000:0:99999:7:::"

SCENARIO = """apiVersion: kindscape/v1alpha1
kind: Scenario
name: confined
clusters:
  - name: a
    configFile: {path}
"""

KIND_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {podSubnet: 10.110.0.0/16, serviceSubnet: 10.115.0.0/16}
"""


def _scenario(tmp_path, path: str) -> str:
    scenario = tmp_path / "lab" / "scenario.yaml"
    scenario.parent.mkdir(exist_ok=True)
    scenario.write_text(SCENARIO.format(path=path))
    return str(scenario)


def _problems(path: str, **kwargs) -> list:
    with pytest.raises(ScenarioError) as info:
        kindscape.load(path, **kwargs)
    return info.value.problems


@pytest.fixture
def secret(tmp_path):
    outside = tmp_path / "shadow"
    outside.write_text(SECRET + "\n" + "\n".join(f"user{i}: {SECRET}" for i in range(3)) + "\n")
    return outside


def test_a_file_outside_the_tree_is_refused_without_its_content(tmp_path, secret):
    [problem] = _problems(_scenario(tmp_path, str(secret)))
    assert problem.path == "clusters[0].configFile" and problem.line == 6
    assert "outside the scenario's directory" in problem.message
    assert "--allow-outside-files" in problem.hint
    assert "s3cr3t" not in str(ScenarioError([problem]))


def test_parent_paths_and_symlinks_out_of_the_tree_are_refused(tmp_path, secret):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "link.yaml").symlink_to(secret)
    (lab / "dir").mkdir()
    (lab / "dir" / "up").symlink_to("..")  # a directory link inside: still inside
    for name in ("../shadow", "link.yaml", "dir/up/../shadow"):
        [problem] = _problems(_scenario(tmp_path, name))
        assert "outside" in problem.message, name


def test_a_symlink_inside_the_tree_is_followed(tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "configs").mkdir()
    (lab / "configs" / "a.kind.yaml").write_text(KIND_CONFIG)
    (lab / "a.yaml").symlink_to("configs/a.kind.yaml")
    assert kindscape.load(_scenario(tmp_path, "a.yaml")).name == "confined"


def test_allow_outside_files_lifts_the_confinement_only(tmp_path, secret):
    config = tmp_path / "a.kind.yaml"
    config.write_text(KIND_CONFIG)
    assert kindscape.load(_scenario(tmp_path, str(config)), allow_outside_files=True).name == "confined"
    # The other limits hold: a device is still refused, before it is read.
    [problem] = _problems(_scenario(tmp_path, "/dev/zero"), allow_outside_files=True)
    assert "a character device, not a regular file" in problem.message


@pytest.mark.parametrize("make, expected", [
    (lambda p: os.mkfifo(p), "a FIFO"),
    (lambda p: os.mkdir(p), "a directory"),
    (lambda p: p.write_bytes(b"kind: Cluster\n" + b"#" * (files.MAX_BYTES + 1)), "too large"),
    (lambda p: p.write_bytes(b"kind: \x00\x01\x02Cluster\n"), "binary"),
    (lambda p: p.write_bytes(b"kind: \xff\xfe Cluster\n"), "not UTF-8"),
])
def test_what_is_not_a_small_text_file_is_refused(tmp_path, make, expected):
    lab = tmp_path / "lab"
    lab.mkdir()
    make(lab / "odd")
    [problem] = _problems(_scenario(tmp_path, "odd"))
    assert expected in problem.message and problem.path == "clusters[0].configFile"


def test_the_scenario_file_itself_gets_the_same_limits(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    [problem] = _problems(str(fifo))
    assert "a FIFO, not a regular file" in problem.message
    [problem] = _problems("/dev/zero")
    assert "character device" in problem.message


def test_unknown_keys_of_a_referenced_file_are_shown_only_when_they_look_like_keys(tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "a.kind.yaml").write_text(KIND_CONFIG + f"'{SECRET}': 1\nnetworkingg: 2\n" + "x" * 90 + ": 3\n")
    problems = _problems(_scenario(tmp_path, "a.kind.yaml"))
    text = str(ScenarioError(problems))
    assert "s3cr3t" not in text and "x" * 41 not in text
    assert "clusters[0].configFile.networkingg: unknown field" in text
    assert "clusters[0].configFile.<key not shown>: unknown field" in text
    assert "clusters[0].configFile." + "x" * 40 + "…: unknown field" in text


def _stdin_load(stdin, timeout=20) -> subprocess.CompletedProcess:
    code = ("import kindscape, sys\n"
            "try:\n    print(kindscape.load('-').name)\n"
            "except kindscape.ScenarioError as e:\n    print(e); sys.exit(1)\n")
    return subprocess.run([sys.executable, "-c", code], stdin=stdin, capture_output=True, text=True,
                          timeout=timeout)


def test_stdin_is_read_with_the_same_limits(tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "a.kind.yaml").write_text(KIND_CONFIG)
    path = _scenario(tmp_path, "a.kind.yaml")
    with open(path) as handle:  # from stdin, references are relative to the working directory
        done = subprocess.run([sys.executable, "-c", "import kindscape; print(kindscape.load('-').name)"],
                              stdin=handle, capture_output=True, text=True, cwd=lab)
    assert done.stdout.strip() == "confined", done.stderr
    with open("/dev/zero") as handle:
        done = _stdin_load(handle)
    assert done.returncode == 1 and "<stdin>" in done.stdout and "character device" in done.stdout


def test_stdin_that_never_ends_is_given_up_after_the_time_bound():
    """A writer that never closes its end (a hung producer): refused after READ_SECONDS."""
    reader, writer = os.pipe()
    try:
        os.write(writer, b"apiVersion: kindscape/v1alpha1\n")
        done = _stdin_load(reader, timeout=files.READ_SECONDS + 20)
    finally:
        os.close(reader)
        os.close(writer)
    assert done.returncode == 1 and f"not read within {files.READ_SECONDS:g} s" in done.stdout, done.stdout
