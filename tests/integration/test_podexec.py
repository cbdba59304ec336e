"""The kind runtime's `exec` helper, run for real (it needs no cluster): it enters a
network namespace, gives the command its own mount namespace with the pod's resolv.conf
bind-mounted over /etc/resolv.conf, and leaves the machine's file untouched."""

from __future__ import annotations

import os
import subprocess

from kindscape.runtimes.kind import podexec


def test_the_command_sees_the_pods_resolv_conf_and_nothing_else_does(tmp_path):
    pods = tmp_path / "resolv.conf"
    pods.write_text("search default.svc.cluster.local svc.cluster.local cluster.local\n"
                    "nameserver 10.96.0.10\noptions ndots:5\n")
    with open("/etc/resolv.conf", "rb") as handle:
        machine_before = handle.read()
    own_netns = f"/proc/{os.getpid()}/ns/net"
    done = subprocess.run(podexec.argv(own_netns, str(pods), ["cat", "/etc/resolv.conf"]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == pods.read_text()
    with open("/etc/resolv.conf", "rb") as handle:
        assert handle.read() == machine_before


def test_a_namespace_that_is_not_there_is_said_plainly(tmp_path):
    done = subprocess.run(podexec.argv(str(tmp_path / "gone"), "/dev/null", ["true"]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "gone" in done.stderr
