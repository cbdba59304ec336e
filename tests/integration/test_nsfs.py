"""Namespaces made by the long-lived maker threads (nsfs.create_many): each one's work
(the ownership mark) runs inside it *before* it is mounted, and a failure stops the
makers and leaves nothing mounted that `remove` cannot take away."""

from __future__ import annotations

import os

import pytest

from kindscape.linux import nsfs
from kindscape.marks import NETNS_PREFIX

NAMES = [f"{NETNS_PREFIX}nsfs-test.ns{i}" for i in range(6)]


@pytest.fixture
def removed_afterwards():
    yield
    for name in NAMES:
        nsfs.remove(name)


def test_work_runs_in_the_new_namespace_before_it_is_mounted(no_leaks, removed_afterwards):
    nsfs.prepare_netns_dir()

    def work(name: str) -> tuple[bool, str]:
        # The mount point exists (an empty file) but holds no namespace yet; we are in a
        # new namespace, not in the one this test runs in.
        return nsfs.is_mounted(name), os.readlink("/proc/thread-self/ns/net")

    home = os.readlink("/proc/self/ns/net")
    made = dict(nsfs.create_many(NAMES, work, workers=2))
    assert set(made) == set(NAMES)
    assert all(mounted is False for mounted, _ns in made.values())
    inodes = {ns for _mounted, ns in made.values()}
    assert home not in inodes and len(inodes) == len(NAMES)
    assert all(nsfs.is_mounted(name) for name in NAMES)


def test_a_failing_work_stops_the_makers_and_mounts_nothing_unmarked(no_leaks, removed_afterwards):
    nsfs.prepare_netns_dir()
    failing = NAMES[2]

    def work(name: str) -> None:
        if name == failing:
            raise RuntimeError(f"no mark for {name}")

    with pytest.raises(RuntimeError, match="no mark"):
        list(nsfs.create_many(NAMES, work, workers=2))
    assert not nsfs.is_mounted(failing)  # its namespace went with the failure
    assert os.path.getsize(nsfs.path_of(failing)) == 0  # an empty mount point: `remove` takes it


def test_down_without_state_takes_empty_mount_points_but_never_a_namespace_by_name_alone(no_leaks):
    """A crash between making a mount point and mounting on it leaves an empty file, which
    `down` removes; a namespace named like the scenario's but without its mark (someone
    else's `ip netns add`) is never touched."""
    import kindscape
    from kindscape.errors import StateError
    from kindscape.runner import run

    scenario = "nsfs-orphans"
    foreign, leftover = f"{NETNS_PREFIX}{scenario}.theirs", f"{NETNS_PREFIX}{scenario}.crashed"
    nsfs.prepare_netns_dir()
    run(["ip", "netns", "add", foreign])
    try:
        os.close(os.open(nsfs.path_of(leftover), os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))
        assert nsfs.is_mounted(foreign) and not nsfs.is_mounted(leftover)
        assert kindscape.down(scenario) == [f"namespace {leftover}"]
        assert nsfs.is_mounted(foreign)
        with pytest.raises(StateError, match="nothing of it was found"):
            kindscape.down(scenario)
    finally:
        nsfs.remove(leftover)
        run(["ip", "netns", "del", foreign])
