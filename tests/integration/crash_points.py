"""Fault injection for crash-safety tests: run `up` and SIGKILL it at its K-th step.

    python -m tests.integration.crash_points up SCENARIO.yaml 'LABEL@N'  # die at LABEL's N-th time
    python -m tests.integration.crash_points up SCENARIO.yaml count      # run through; print the points
    python -m tests.integration.crash_points down NAME 'LABEL@N'|count   # the same for `down`

A point is just before and just after each call that changes the machine or the state:
every libc mount/unshare/umount, mount point, namespace creation, netlink batch, `nft -f`,
state write, server start (spawn, go, ready) and (for `down`) every stop, unmount and removal. SIGKILL there is what a crash (OOM killer, power cut of the
process, `kill -9`) does; the tests then run `down` and compare the machine. This wraps
real functions in a real `up`: nothing is faked, only the moment of death is chosen.

A point is named by its label and how many times that label was hit before it
("before libc.mount@5"), not by its place in the whole sequence: namespaces are made on
several threads, so the labels interleave differently from one run to the next, while
each label's own count does not change.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import signal
import sys
import threading

# (module, attribute) of the calls around which a crash is injected; one that no longer
# exists is an error (internals move: update this list), so coverage never shrinks unseen.
TARGETS = [
    ("kindscape.state", "save"),
    ("kindscape.linux.nsfs", "prepare_netns_dir"),
    ("kindscape.linux.nsfs", "make_mount_points"),  # every mount point, before any unshare
    ("kindscape.linux.nsfs", "_create_here"),  # each namespace, on the namespace makers' threads
    ("kindscape.linux.netlink", "NetlinkSocket.flush"),
    ("kindscape.runtimes.netns.apply", "run"),  # `nft -f`, on the rulesets' threads
    ("kindscape.runtimes.netns.apply", "_write_files"),  # resolv.conf under /etc/netns, in the background
    ("kindscape.linux.shaping", "run"),  # `tc -batch` / `nft -f` of impairments
    ("kindscape.linux.processes", "start_server"),
    ("kindscape.linux.processes", "spawn_server"),  # the server starts before the namespaces
    ("kindscape.linux.processes", "Server.go"),
    ("kindscape.linux.processes", "_read_ready"),
    ("kindscape.linux.processes", "stop"),
    ("kindscape.linux.nsfs", "remove"),
    ("kindscape.state", "forget"),
]
LIBC_CALLS = ("mount", "unshare", "umount2", "setns")


class Points:
    def __init__(self, kill_at: tuple[str, int] | None):
        self.kill_at = kill_at
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def hit(self, name: str) -> None:
        with self.lock:
            self.seen.append(name)
            if self.kill_at is not None and self.kill_at[0] == name and self.seen.count(name) == self.kill_at[1]:
                os.kill(os.getpid(), signal.SIGKILL)

    def wrap(self, name: str, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            self.hit(f"before {name}")
            result = func(*args, **kwargs)
            self.hit(f"after {name}")
            return result
        return wrapper


def install(points: Points) -> None:
    for module_name, attribute in TARGETS:
        owner = importlib.import_module(module_name)
        *parents, leaf = attribute.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        if owner is None or not hasattr(owner, leaf):  # moved: say so, or coverage shrinks unseen
            raise LookupError(f"crash point {module_name}.{attribute} no longer exists: update TARGETS")
        setattr(owner, leaf, points.wrap(attribute, getattr(owner, leaf)))
    libc = getattr(importlib.import_module("kindscape.linux.nsfs"), "_libc", None)
    if libc is not None:
        for call in LIBC_CALLS:
            setattr(libc, call, points.wrap(f"libc.{call}", getattr(libc, call)))


def main(argv: list[str]) -> int:
    command, target, mode = argv
    label, _, count = mode.rpartition("@")
    points = Points(None if mode == "count" else (label, int(count)))
    install(points)
    import kindscape
    if command == "up":
        kindscape.up(target)
    else:
        kindscape.down(target)
    json.dump(points.seen, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
