"""Privileges: without root, or as root without CAP_NET_ADMIN/CAP_SYS_ADMIN (a container,
`setpriv`), every command stops with a clear error before it creates or removes anything.
Privileges are really dropped here (setpriv), in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import pytest

import kindscape
from kindscape import state as statefile
from tests.conftest import EXAMPLES, ROOT
from tests.machine import snapshot

SEED = EXAMPLES / "multi-cluster.yaml"

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


NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
# Run as root in a mount namespace of its own: bind each (source, target), read-only, then
# exec the rest of argv. The binds go with that namespace when the run ends.
BIND_THEN_EXEC = """
import json, os, subprocess, sys
for source, target in json.loads(sys.argv[1]):
    subprocess.run(["mount", "--bind", "-o", "ro", source, target], check=True)
os.execvp(sys.argv[2], sys.argv[2:])
"""


def _nobody_reads(path: str) -> bool:
    """Whether `nobody` can read `path`: every directory above it must let it through."""
    return subprocess.run([*NOBODY, "test", "-r", path], env={"PATH": os.environ["PATH"]}, cwd="/").returncode == 0


def _as_nobody(code: str) -> subprocess.CompletedProcess:
    """Run Python as the unprivileged user `nobody`, importing this checkout's kindscape
    (the code tested imports no third-party module), with this interpreter (a venv's
    python is a link to it). Where nobody cannot reach the interpreter or the checkout (a
    pyenv under /root, a clone in a 0750 home), they are bind-mounted under a directory
    nobody can enter, in a mount namespace of the run's own: the machine sees no change."""
    prefix, executable = sys.base_prefix, os.path.realpath(sys._base_executable)
    src = str(ROOT / "src")
    binds = {}
    if not _nobody_reads(os.path.join(src, "kindscape", "__init__.py")):
        binds["src"] = src
    if not (_nobody_reads(executable) and _nobody_reads(os.path.join(sysconfig.get_path("stdlib"), "os.py"))):
        if not executable.startswith(prefix + os.sep):
            pytest.skip(f"nobody cannot run {executable}, which lies outside its prefix {prefix}")
        binds["python"] = prefix
    top = tempfile.mkdtemp(prefix="kindscape-nobody.")
    try:
        os.chmod(top, 0o755)
        for name in binds:
            os.mkdir(os.path.join(top, name), 0o755)

        def seen_as(path: str, name: str) -> str:  # the path nobody uses for `path`
            return os.path.join(top, name, os.path.relpath(path, binds[name])) if name in binds else path
        env = {"PYTHONPATH": seen_as(src, "src"), "KINDSCAPE_STATE_DIR": statefile.STATE_ROOT,
               "KINDSCAPE_NETNS_PREFIX": os.environ.get("KINDSCAPE_NETNS_PREFIX", "ks"), "PATH": os.environ["PATH"]}
        if "python" in binds:  # a shared libpython found by an absolute RUNPATH under the prefix
            env["LD_LIBRARY_PATH"] = seen_as(sysconfig.get_config_var("LIBDIR") or prefix, "python")
        argv = [*NOBODY, seen_as(executable, "python"), "-c", code, seen_as(src, "src")]
        if binds:
            pairs = [(source, os.path.join(top, name)) for name, source in binds.items()]
            argv = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", BIND_THEN_EXEC,
                    json.dumps(pairs), *argv]
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", timeout=60)
    finally:
        for name in binds:  # rmdir, never a recursive removal: a bind seen here is an error
            os.rmdir(os.path.join(top, name))
        os.rmdir(top)


NOBODY_SCRIPT = """
import json, sys
import kindscape
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
seen["imported"] = kindscape.__file__.startswith(sys.argv[1] + "/")
print(json.dumps(seen))
"""


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
        assert seen["imported"] is True, "nobody ran another kindscape than this checkout's"
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
