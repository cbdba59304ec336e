"""Lifecycle safety: nothing leaks after down, when the state file is gone or damaged, or
when `down` itself was interrupted; the machine is untouched while a scenario is up;
two scenarios with the same subnets coexist; two `up` of one name never race.
(SIGKILL/SIGTERM at many points: test_crash.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kindscape
from kindscape import api
from kindscape import state as statefile
from kindscape.errors import StateError
from tests.conftest import EXAMPLES
from tests.machine import ETC_NETNS, netns_prefix, snapshot, without_etc_netns

SEED = EXAMPLES / "multi-cluster.yaml"


def _up_cli(path, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(["kindscape", "up", str(path), "-o", "json"], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("kill_at", ["namespaces:9", "workloads:0"])
def test_the_builtin_kill_hook_then_down_leaves_nothing(kill_at, no_leaks):
    done = _up_cli(SEED, {"KINDSCAPE_TEST_KILL_AT": kill_at})
    assert done.returncode == -9, (done.returncode, done.stderr)
    again = _up_cli(SEED)
    assert again.returncode == 3 and "kindscape down multi-cluster" in again.stdout  # -o json: errors as JSON
    down = subprocess.run(["kindscape", "down", "multi-cluster"], capture_output=True, text=True)
    assert down.returncode == 0, down.stderr



def test_down_all_removes_every_scenario_also_one_left_by_a_crash(no_leaks):
    """`down --all` (a CI job's cleanup step): a scenario that is up and one whose `up`
    was killed half-way both go; a second run finds nothing."""
    try:
        _down_all_of_two()
    finally:  # a failure above must not leave both scenarios to the tests after this one
        api.down_all()


def _down_all_of_two() -> None:
    had_etc_netns = os.path.isdir(ETC_NETNS)
    kindscape.up(EXAMPLES / "external-vms.yaml")
    crashed = _up_cli(SEED, {"KINDSCAPE_TEST_KILL_AT": "links:2"})
    assert crashed.returncode == -9, crashed.stderr
    assert sorted(api.list_up()) == ["external-vms", "multi-cluster"]
    shown = json.loads(subprocess.run(["kindscape", "status", "-o", "json"], capture_output=True, text=True).stdout)
    assert [s["name"] for s in shown["scenarios"]] == ["external-vms"]
    assert [(s["name"], s["phase"]) for s in shown["notUp"]] == [("multi-cluster", "creating")]
    table = subprocess.run(["kindscape", "status"], capture_output=True, text=True).stdout
    assert "multi-cluster: not up (state creating" in table and "kindscape down multi-cluster" in table
    done = subprocess.run(["kindscape", "down", "--all", "-o", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] and document["failed"] == []
    assert sorted(s["name"] for s in document["scenarios"]) == ["external-vms", "multi-cluster"]
    assert all(any(r.startswith("namespace ") for r in s["removed"]) for s in document["scenarios"])
    assert api.list_up() == []
    assert os.path.isdir(ETC_NETNS) == had_etc_netns  # shared by both: gone with the last one
    again = subprocess.run(["kindscape", "down", "--all"], capture_output=True, text=True)
    assert again.returncode == 0 and "no scenario has state" in again.stdout
    neither = subprocess.run(["kindscape", "down"], capture_output=True, text=True)
    assert neither.returncode == 2 and "give the name of a scenario, or --all" in neither.stderr

def test_down_without_state_file_finds_everything_by_its_marks(no_leaks):
    kindscape.up(SEED)
    shutil.rmtree(statefile.scenario_dir("multi-cluster"))
    removed = kindscape.down("multi-cluster")
    assert sum(1 for r in removed if r.startswith("namespace ")) == 11  # with each cluster's CoreDNS pod
    assert sum(1 for r in removed if r.startswith("process ")) == 1


def test_down_after_only_the_state_directory_is_left(no_leaks):
    """A `down` killed while removing the state directory leaves some files: a second
    `down` removes them (found nothing else, but nothing is left either)."""
    kindscape.up(SEED)
    directory = statefile.scenario_dir("multi-cluster")
    kindscape.down("multi-cluster")
    os.makedirs(directory, mode=0o700)
    with open(os.path.join(directory, "workloads.log"), "w") as handle:
        handle.write("left over\n")
    assert kindscape.down("multi-cluster") == []
    os.makedirs(directory, mode=0o700)  # and `down --all` finds such a directory too
    assert kindscape.down_all() == ({"multi-cluster": []}, {}) and not os.path.exists(directory)


def test_down_of_nothing_is_a_clear_error_and_leaves_no_lock_file(no_leaks):
    with pytest.raises(kindscape.KindscapeError, match="no scenario named 'nothing-here'"):
        kindscape.down("nothing-here")


@pytest.mark.parametrize("name", ["../../etc", "/etc", "a/b", "..", "UPPER", "x" * 21])
def test_commands_refuse_names_that_could_escape_the_state_directory(name, no_leaks):
    for argv in (["down", name], ["check", name], ["status", name], ["exec", name, "docker-host", "--", "true"]):
        done = subprocess.run(["kindscape", *argv], capture_output=True, text=True)
        assert done.returncode == 3 and "invalid scenario name" in done.stderr, (argv, done.stderr)
        assert "Traceback" not in done.stderr


def _mounts_of(namespaces: tuple[str, ...]) -> set[str]:
    return {f"/run/netns/{name} nsfs" for name in namespaces}


def test_up_then_down_restores_the_machine_exactly(no_leaks):
    before = snapshot()
    lab = kindscape.up(SEED)
    during = snapshot()
    # While up, the machine's own network is untouched: the only changes are the ones the
    # docs/netns-runtime.md lists (namespace files under /run/netns and their mounts, the state
    # directory, the workload server, the pods' resolv.conf under /etc/netns).
    changes = during.diff(before)
    assert set(changes) <= {"namespaces", "mounts", "processes", "state", "etc_netns"}, changes
    assert {"namespaces", "mounts", "processes", "state"} <= set(changes), changes
    assert not any(change["gone"] for change in changes.values()), changes
    assert set(changes["mounts"]["new"]) == _mounts_of(during.namespaces)
    assert all(n.startswith(netns_prefix() + "multi-cluster.") for n in during.namespaces)
    assert lab.check().ok
    assert snapshot() == during  # probing changes nothing either
    lab.down()
    assert snapshot().diff(before) == {}


def test_state_files_are_readable_by_root_only(no_leaks):
    with kindscape.up(SEED):
        directory = statefile.scenario_dir("multi-cluster")
        for path in [statefile.STATE_ROOT, directory] + [os.path.join(directory, f) for f in os.listdir(directory)]:
            info = os.stat(path)
            assert info.st_uid == 0 and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO), \
                (path, oct(info.st_mode))


def test_two_scenarios_with_identical_subnets_side_by_side(no_leaks, tmp_path):
    twin = tmp_path / "twin.yaml"
    twin.write_text(SEED.read_text().replace("name: multi-cluster", "name: twin"))
    with kindscape.up(SEED) as first, kindscape.up(twin) as second:
        assert first.check().ok and second.check().ok
        mine = snapshot()
        second.down()
        # The other one's down touched only its own: every namespace and mount of the
        # first is still there, and it is still healthy.
        after = snapshot()
        firsts = {n for n in mine.namespaces if ".multi-cluster." in n}
        assert firsts == set(after.namespaces) and _mounts_of(tuple(firsts)) <= set(after.mounts)
        assert first.check().ok
        assert first.status()["healthy"]


def test_up_of_a_name_another_command_holds_is_a_clear_error(no_leaks):
    """Deterministic: hold the scenario's lock as a running `up` would."""
    before = snapshot()
    with statefile.locked("multi-cluster"):
        done = _up_cli(SEED)
        assert done.returncode == 3, done.stdout
        error = json.loads(done.stdout)["error"]
        assert f"busy: another kindscape (pid {os.getpid()}) is working on it" in error
        assert snapshot().diff(before) == {"state": {"gone": [], "new": ["multi-cluster.lock 600"]}}


# Takes the lock, forks a child that keeps the lock's open file for a while (as a child
# between fork and exec does), then dies by SIGKILL the way a crashed `up` does. The
# child's pid is printed first, the holder's second.
_ORPHANING_HOLDER = """
import os, signal, sys, time
from kindscape import state
with state.locked(sys.argv[1]):
    child = os.fork()
    if child == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1), os.dup2(null, 2)  # the test reads the parent's output to its end
        time.sleep(float(sys.argv[2]))
        os._exit(0)
    print(child, os.getpid(), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""
LOCK = "orphan-lock"
HELD = 1.5  # seconds the lock stays held after its holder is gone (well within the wait)


def _orphan_the_lock(child_seconds: float) -> tuple[int, int]:
    """(the child's pid, the dead holder's pid)."""
    done = subprocess.run([sys.executable, "-c", _ORPHANING_HOLDER, LOCK, str(child_seconds)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == -9, done.stderr
    child, holder = map(int, done.stdout.split())
    return child, holder


def _held() -> bool:
    """Whether someone holds the lock now (asked without taking it for long)."""
    import fcntl
    fd = os.open(f"{statefile.STATE_ROOT}/{LOCK}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _taken_after_waiting() -> None:
    """The lock is held now, and `locked` takes it (waiting) instead of saying busy."""
    assert _held(), "the test's holder let go too early to tell anything"
    with statefile.locked(LOCK):
        pass


def test_lock_of_a_killed_command_is_taken_once_its_children_let_go(no_leaks):
    """CI saw this: `up` SIGKILLed while a thread forked `nft`; the next command, a moment
    later, found the lock held by that child. A dead holder's lock is waited for."""
    _orphan_the_lock(HELD)
    _taken_after_waiting()


def test_lock_of_a_killed_command_not_yet_reaped_is_waited_for_too(no_leaks):
    """Its parent has not collected it yet (a zombie): its pid is still there, its files
    are not; the lock is its child's, and is waited for."""
    with subprocess.Popen([sys.executable, "-c", _ORPHANING_HOLDER, LOCK, str(HELD)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as holder:
        pid = int(holder.stdout.readline().split()[1])
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the holder did not die"
            time.sleep(0.01)
        _taken_after_waiting()


def test_a_lock_held_while_its_holder_finishes_is_waited_for(no_leaks):
    """The holder's last moments: it has emptied the file (its pid gone), not yet closed it."""
    path = f"{statefile.STATE_ROOT}/{LOCK}.lock"
    finishing = [sys.executable, "-c", "import fcntl, os, sys, time\n"
                 f"fd = os.open({path!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
                 "fcntl.flock(fd, fcntl.LOCK_EX)\nos.ftruncate(fd, 0)\nprint('held', flush=True)\n"
                 f"time.sleep({HELD})\n"]
    with subprocess.Popen(finishing, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout.readline().strip() == "held"
        _taken_after_waiting()


def test_lock_a_killed_command_left_to_a_lasting_child_is_a_clear_error(no_leaks, monkeypatch):
    monkeypatch.setattr(statefile, "ORPHANED_LOCK_WAIT", 0.3)
    child, holder = _orphan_the_lock(30)
    try:
        with pytest.raises(StateError, match=f"held by a process that the kindscape with pid {holder} "
                                             "started; that kindscape has exited"):
            with statefile.locked(LOCK):
                pass
    finally:
        os.kill(child, signal.SIGKILL)  # the child goes; its lock goes with it
    deadline = time.monotonic() + 10
    while _held():
        assert time.monotonic() < deadline, "the child's lock outlived it"
        time.sleep(0.01)
    with statefile.locked(LOCK):
        pass


def test_two_ups_of_one_name_at_once_one_wins(no_leaks):
    """The real race, several times: exactly one `up` succeeds; the other gets a clear
    error (busy while the first works, or already up after it) and creates nothing."""
    for _ in range(3):
        racers = [subprocess.Popen(["kindscape", "up", str(SEED), "-o", "json"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
        outcomes = [(r.wait(timeout=60), json.loads(r.stdout.read())) for r in racers]
        for racer in racers:
            racer.stdout.close()
        codes = sorted(code for code, _ in outcomes)
        assert codes == [0, 3], outcomes
        error = next(doc["error"] for code, doc in outcomes if code == 3)
        assert "is busy: another kindscape" in error or "is already up" in error, error
        lab = kindscape.attach("multi-cluster")
        assert lab.check().ok and lab.status()["healthy"]
        lab.down()


def test_commands_on_a_scenario_missing_a_namespace_say_so(no_leaks):
    """A namespace removed behind the tool's back (or by a `down` running at the same time):
    check, exec and trace say so and point to `down`, never a traceback."""
    from kindscape.linux import nsfs
    lab = kindscape.up(SEED)
    try:
        gone = lab.topology.node("cluster-a-worker").pods[0].netns
        nsfs.remove(gone)
        for args in (["check", "multi-cluster"], ["exec", "multi-cluster", "cluster-a-worker/pod1", "--", "true"],
                     ["trace", "multi-cluster", "cluster-a-worker/pod1", "cluster-b-worker/pod1"]):
            done = subprocess.run(["kindscape", *args], capture_output=True, text=True)
            assert done.returncode == 3, (args, done.stderr)
            assert f"namespace {gone} is gone" in done.stderr and "kindscape down multi-cluster" in done.stderr
            assert "Traceback" not in done.stderr
    finally:
        lab.down()


def test_a_directory_up_made_for_its_files_goes_with_down(no_leaks):
    """/etc/netns (for `ip netns exec`'s resolv.conf) is removed by `down` when that
    scenario's `up` made it."""
    with without_etc_netns():
        with kindscape.up(SEED) as lab:
            assert os.path.isdir(ETC_NETNS) and ETC_NETNS in lab.state.extra["directories"]
        assert not os.path.exists(ETC_NETNS)


@pytest.mark.parametrize("last", ["the first up", "the second up"])
def test_a_directory_two_scenarios_share_goes_with_the_last_one_down(last, no_leaks):
    """One scenario made /etc/netns, another put its pods' files there too: whichever goes
    down last removes it (the first one down finds it still in use)."""
    with without_etc_netns():
        first = kindscape.up(EXAMPLES / "external-vms.yaml")
        second = kindscape.up(SEED)
        try:
            assert ETC_NETNS in second.state.extra["directories"]
            for lab in ([second, first] if last == "the first up" else [first, second]):
                assert os.path.isdir(ETC_NETNS)
                lab.down()
            assert not os.path.exists(ETC_NETNS)
        finally:
            first.down()  # a second `down` of a Lab does nothing
            second.down()


def test_a_directory_that_was_there_stays_with_what_it_held(no_leaks):
    existed = os.path.isdir(ETC_NETNS)
    os.makedirs(ETC_NETNS, exist_ok=True)
    try:
        entries = sorted(os.listdir(ETC_NETNS))
        with kindscape.up(SEED) as lab:
            assert ETC_NETNS not in lab.state.extra["directories"]
        assert os.path.isdir(ETC_NETNS) and sorted(os.listdir(ETC_NETNS)) == entries
    finally:
        if not existed and not os.listdir(ETC_NETNS):
            os.rmdir(ETC_NETNS)
