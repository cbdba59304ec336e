"""The kind runtime's `exec` helper, run for real (it needs no cluster): it enters the
pod's network namespace, gives the command its own mount namespace with the pod's
resolv.conf bind-mounted over /etc/resolv.conf, and leaves the machine's file untouched."""

from __future__ import annotations

import os
import subprocess

import pytest

from kindscape.runtimes.kind import podexec


@pytest.fixture
def other_netns():
    """A network namespace of its own (held by a sleeping process), as a pod's is."""
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    path = f"/proc/{holder.pid}/ns/net"
    try:
        for _ in range(500):  # until unshare has moved it
            if os.readlink(path) != os.readlink("/proc/self/ns/net"):
                break
            subprocess.run(["sleep", "0.01"])
        yield path
    finally:
        holder.kill()
        holder.wait()


def test_the_command_runs_in_the_pods_namespace_and_sees_its_resolv_conf(other_netns, tmp_path, no_leaks):
    pods = tmp_path / "resolv.conf"
    pods.write_text("search default.svc.cluster.local svc.cluster.local cluster.local\n"
                    "nameserver 10.96.0.10\noptions ndots:5\n")
    with open("/etc/resolv.conf", "rb") as handle:
        machine_before = handle.read()
    done = subprocess.run(podexec.argv(other_netns, str(pods),
                                       ["sh", "-c", "readlink /proc/self/ns/net; cat /etc/resolv.conf"]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    namespace, _, seen = done.stdout.partition("\n")
    assert namespace == os.readlink(other_netns) != os.readlink("/proc/self/ns/net")
    assert seen == pods.read_text()
    with open("/etc/resolv.conf", "rb") as handle:
        assert handle.read() == machine_before


def test_a_namespace_that_is_not_there_is_said_plainly(tmp_path):
    done = subprocess.run(podexec.argv(str(tmp_path / "gone"), "/dev/null", ["true"]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr.startswith("kindscape exec: ") and "gone" in done.stderr and "Traceback" not in done.stderr


def test_a_command_that_is_not_there_exits_127_as_a_shell_says_it(other_netns):
    done = subprocess.run(podexec.argv(other_netns, "/dev/null", ["no-such-command-here"]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 127
    assert done.stderr.strip() == "kindscape exec: no-such-command-here: No such file or directory"
