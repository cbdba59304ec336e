"""Crash safety: `up` (and `down`) killed at many points, each followed by `down`, leave
the machine exactly as it was: namespaces, mounts, links, rules, processes, state files.

Points come from two sources: fault injection (crash_points.py kills the process just
before or after each call that changes something: every mount, unshare, netlink batch,
`nft -f`, state write, server start) and timing (SIGKILL or SIGTERM after a delay spread
over the length of a real `up`). The default run covers every kind of point; the `slow`
run (CI) kills at every single one and at many more moments.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

import kindscape
from kindscape import state as statefile
from kindscape.errors import StateError
from tests.conftest import EXAMPLES, ROOT
from tests.machine import ETC_NETNS, snapshot, without_etc_netns

SEED = EXAMPLES / "multi-cluster.yaml"
NAME = "multi-cluster"


def _inject(command: str, target: str, mode: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "tests.integration.crash_points", command, target, str(mode)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def _points(command: str, target: str) -> list[str]:
    import json
    done = _inject(command, target, "count")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _point(points: list[str], index: int) -> str:
    """The point at `index` (1-based) as crash_points names it: label@occurrence."""
    label = points[index - 1]
    return f"{label}@{points[:index].count(label)}"


@pytest.fixture(scope="module")
def up_points() -> list[str]:
    """The labelled points of a real `up` of the seed example, in order. Counted once the
    machine has its /run/netns mount, as every `up` after the first finds it (the first
    one makes it: more mounts)."""
    kindscape.up(SEED).down()
    points = _points("up", str(SEED))
    kindscape.down(NAME)
    # Far fewer would mean the wrapped internals moved: update crash_points.TARGETS.
    assert len(points) >= 60, points
    return points


def _down_after_crash(killed_at: str) -> None:
    """What a user does after a crash: `up` again is refused (stale state), `down` cleans."""
    recorded = statefile.load(NAME)
    if recorded is not None:  # killed after the phase "up" was saved, it is simply up
        stale = "already up" if recorded.phase == "up" else "stale state from an interrupted"
        with pytest.raises(StateError, match=f"{stale}.*kindscape down {NAME}"):
            kindscape.up(SEED)
    try:
        kindscape.down(NAME)
    except StateError as exc:  # killed before anything was recorded or made
        assert "nothing of it was found" in str(exc) and recorded is None, (killed_at, exc)


def _kill_and_clean(points: list[str], indexes: list[int]) -> dict[str, dict]:
    """Kill `up` at each point (1-based), clean up; the leftovers of each, if any."""
    leftovers = {}
    for index in indexes:
        before, had_etc_netns = snapshot(), os.path.isdir(ETC_NETNS)
        point = _point(points, index)
        done = _inject("up", str(SEED), point)
        label = f"#{index} {point}"
        assert done.returncode == -signal.SIGKILL, (label, done.returncode, done.stderr)
        try:
            _down_after_crash(label)
        except BaseException:  # leave the machine clean for the tests after this one
            with contextlib.suppress(StateError):
                kindscape.down(NAME)
            raise
        diff = snapshot().diff(before)
        if os.path.isdir(ETC_NETNS) != had_etc_netns:  # the snapshot sees its entries only
            diff["/etc/netns itself"] = {"was there": had_etc_netns}
        if diff:
            leftovers[label] = diff
    return leftovers


def _one_of_each_kind(points: list[str]) -> list[int]:
    """The first point of each label, and the last of each: every kind of step, early and late."""
    first, last = {}, {}
    for index, label in enumerate(points, start=1):
        first.setdefault(label, index)
        last[label] = index
    return sorted(set(first.values()) | set(last.values()))


def test_sigkill_of_up_at_every_kind_of_point_then_down_leaves_nothing(up_points, no_leaks):
    chosen = _one_of_each_kind(up_points)
    assert len(chosen) >= 20
    with without_etc_netns():
        assert _kill_and_clean(up_points, chosen) == {}


def test_sigkill_at_each_namespace_mount_and_file_write_without_etc_netns_leaves_nothing(up_points, no_leaks):
    """CI once found /etc/netns/<pod> directories left after a SIGKILL at `before
    libc.mount` and `down`, on a machine that had no /etc/netns. Every mount of `up`, and
    both sides of the resolv.conf writes, on such a machine."""
    chosen = [index for index, label in enumerate(up_points, start=1)
              if label in ("before libc.mount", "after libc.mount") or label.endswith(" _write_files")]
    assert len(chosen) >= 2 * 11 + 2, up_points  # the seed's 11 namespaces
    with without_etc_netns():
        assert _kill_and_clean(up_points, chosen) == {}


@pytest.mark.slow
def test_sigkill_of_up_at_every_single_point_then_down_leaves_nothing(up_points, no_leaks):
    with without_etc_netns():
        assert _kill_and_clean(up_points, list(range(1, len(up_points) + 1))) == {}


def test_sigkill_of_down_at_every_kind_of_point_then_down_again_leaves_nothing(no_leaks):
    kindscape.up(SEED)
    points = _points("down", NAME)
    chosen = _one_of_each_kind(points)
    assert Counter(p.split()[-1] for p in points)["remove"] >= 9 * 2
    for index in chosen:
        before_up = snapshot()
        kindscape.up(SEED)
        done = _inject("down", NAME, _point(points, index))
        assert done.returncode == -signal.SIGKILL, (index, done.stderr)
        try:
            kindscape.down(NAME)
        except StateError as exc:  # the killed `down` had already finished its work
            assert "nothing of it was found" in str(exc), exc
        assert snapshot().diff(before_up) == {}, f"#{index} {points[index - 1]}"


def _up_duration() -> float:
    started = time.monotonic()
    done = subprocess.run(["kindscape", "up", str(SEED), "-o", "json"], capture_output=True, text=True)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    kindscape.down(NAME)
    return elapsed


def _delays(count: int) -> list[float]:
    """`count` moments spread from the start of `up` to its end (measured here, now)."""
    length = _up_duration()
    return [length * (index + 0.5) / count for index in range(count)]


def _signal_up_after(delay: float, signum: int) -> int:
    proc = subprocess.Popen(["kindscape", "up", str(SEED), "-o", "json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    return proc.returncode


MOMENTS = pytest.mark.parametrize("count", [pytest.param(6, id="6-moments"),
                                            pytest.param(40, id="40-moments", marks=pytest.mark.slow)])


@MOMENTS
def test_sigkill_of_up_at_any_moment_then_down_leaves_nothing(count, no_leaks):
    for delay in _delays(count):
        before = snapshot()
        code = _signal_up_after(delay, signal.SIGKILL)
        assert code in (-signal.SIGKILL, 0), (delay, code)
        _down_after_crash(f"{delay:.3f} s")
        assert snapshot().diff(before) == {}, f"killed after {delay:.3f} s"


@MOMENTS
def test_sigterm_during_up_removes_what_was_made_without_down(count, no_leaks):
    """SIGTERM (and Ctrl-C) unwind: `up` removes what it made itself, no `down` needed."""
    for delay in _delays(count):
        before = snapshot()
        code = _signal_up_after(delay, signal.SIGTERM)
        recorded = statefile.load(NAME)
        if recorded is not None and recorded.phase == "up":
            # `up` had finished (the signal came while it printed, or after): it is up.
            kindscape.down(NAME)
        else:
            # Killed before it began (nothing made), or it unwound and removed what it made.
            assert code in (-signal.SIGTERM, 130) and recorded is None, (delay, code)
        assert snapshot().diff(before) == {}, f"SIGTERM after {delay:.3f} s (exit {code})"
