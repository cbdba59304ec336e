"""Mininet 2.3 (Debian's `mininet` package, LinuxBridge switch, no controller), measured
in the same run as kindscape: installed when missing, run inside a scratch network and
PID namespace (see mininet_run.py). Every function returns data or the reason it could
not run, never raises for a missing Mininet."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

RUNNER = Path(__file__).with_name("mininet_run.py")
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGES = ["mininet", "bridge-utils"]  # bridge-utils: LinuxBridge drives `brctl`


def _importable() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import mininet.net, mininet.nodelib"],
                          capture_output=True, check=False)
    return done.returncode == 0


def ensure_installed(say) -> str | None:
    """None when Mininet can run, else why not (after trying to install it)."""
    if os.geteuid() != 0:
        return "needs root"
    if _importable() and os.path.exists("/usr/sbin/brctl") and os.path.exists("/usr/bin/mnexec"):
        return None
    say(f"installing Mininet: apt-get install --no-install-recommends {' '.join(PACKAGES)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:  # package lists missing or stale: update them once, try again
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
        done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return f"could not install Mininet (apt-get: {tail[0]})"
    return None if _importable() else "Mininet installed but its Python package does not import"


def run(hosts: int, pingall: bool = False, timeout: float | None = None) -> dict | str:
    """Build and stop `hosts` Mininet hosts (optionally pingAll between them): the
    runner's JSON, or why it failed."""
    argv = ["unshare", "--net", "--pid", "--fork", "--mount-proc",
            SYSTEM_PYTHON, str(RUNNER), str(hosts)] + (["--pingall"] if pingall else [])
    limit = timeout or 120 + hosts * 0.5
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return f"Mininet did not finish {hosts} hosts within {limit:.0f} s"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"Mininet failed (exit {done.returncode}): {tail}"
    return json.loads(lines[-1])
