"""Privileges: without root, or as root without CAP_NET_ADMIN/CAP_SYS_ADMIN (a container,
`setpriv`), every command stops with a clear error before it creates or removes anything.
Privileges are really dropped here (setpriv), in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

import kindscape
from kindscape import state as statefile
from tests.conftest import EXAMPLES, ROOT
from tests.machine import snapshot

SEED = EXAMPLES / "multi-cluster.yaml"
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")


def _dropping(capability: str) -> tuple[str, ...]:
    """setpriv's argv that runs a command as root without `capability`."""
    drop = f"-{capability.lower().removeprefix('cap_')}"
    return ("setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}")


def _without(capability: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*_dropping(capability), "kindscape", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("capability", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])
def test_up_without_a_capability_is_a_clear_error_before_anything_starts(capability, no_leaks):
    before = snapshot()
    done = _without(capability, "up", str(SEED))
    assert done.returncode == 3, done.stderr
    assert "needs CAP_NET_ADMIN and CAP_SYS_ADMIN" in done.stderr and f"lacks {capability}" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot().diff(before) == {}


def test_commands_on_a_running_scenario_without_capabilities_change_nothing(no_leaks):
    with kindscape.up(SEED) as lab:
        during = snapshot()
        for args in (["check", "multi-cluster"], ["down", "multi-cluster"],
                     ["exec", "multi-cluster", "cluster-a-worker", "--", "true"], ["down", "multi-cluster", "-o", "json"],
                     ["down", "--all"], ["down", "--all", "-o", "json"]):
            done = _without("CAP_SYS_ADMIN", *args)
            assert done.returncode == 3, (args, done.stdout, done.stderr)
            message = json.loads(done.stdout)["error"] if "json" in args else done.stderr
            assert "lacks CAP_SYS_ADMIN" in message and "Traceback" not in done.stderr, (args, message)
        assert snapshot() == during
        assert lab.check().ok


def _as_nobody(code: str) -> subprocess.CompletedProcess:
    """Run Python as the unprivileged user `nobody` (the system Python: ours lives under
    /root, which nobody may not enter; the commands tested import no third-party module)."""
    env = {"PYTHONPATH": str(ROOT / "src"), "KINDSCAPE_STATE_DIR": statefile.STATE_ROOT,
           "KINDSCAPE_NETNS_PREFIX": os.environ.get("KINDSCAPE_NETNS_PREFIX", "ks"), "PATH": os.environ["PATH"]}
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           SYSTEM_PYTHON, "-c", code], capture_output=True, text=True, env=env, cwd="/",
                          timeout=60)


NOBODY_SCRIPT = """
import json
from kindscape import api
from kindscape.errors import PrivilegeError
from kindscape.runtimes.netns.runtime import check_privileges
seen = {}
for what, call in [("down", lambda: api.down("multi-cluster")), ("status", lambda: api.status()),
                   ("attach", lambda: api.attach("multi-cluster")), ("runtime", check_privileges)]:
    try:
        call()
        seen[what] = "no error"
    except PrivilegeError as exc:
        seen[what] = str(exc)
try:
    open(%r).read()
    seen["read state"] = "readable"
except PermissionError:
    seen["read state"] = "refused"
print(json.dumps(seen))
"""


@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason="needs the system Python for `nobody`")
def test_without_root_every_command_is_refused_and_state_is_unreadable(no_leaks):
    with kindscape.up(SEED):
        during = snapshot()
        done = _as_nobody(NOBODY_SCRIPT % statefile.state_path("multi-cluster"))
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        for what in ("down", "status", "attach"):
            assert "only root may use" in seen[what] and "run with sudo" in seen[what], seen
        assert "lacks CAP_NET_ADMIN, CAP_SYS_ADMIN" in seen["runtime"], seen
        assert seen["read state"] == "refused"
        assert snapshot() == during


@pytest.mark.parametrize("capability", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])
def test_the_pytest_plugin_skips_a_lab_when_root_lacks_a_capability(capability, tmp_path, no_leaks):
    """Root in a container (or under setpriv) without a capability: the test using
    `kindscape_lab` is skipped, naming what is missing, instead of failing in `up`."""
    from tests.pluginrun import run_pytest
    (tmp_path / "test_lab.py").write_text(
        "def test_needs_a_lab(kindscape_lab):\n"
        "    kindscape_lab('examples/multi-cluster.yaml')\n"
        "    raise AssertionError('never reached without the capability')\n")
    done = run_pytest(tmp_path, str(tmp_path), wrapper=_dropping(capability))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout and f"this process lacks {capability}" in done.stdout, done.stdout
