"""Applying a plan to real namespaces: batched netlink per namespace, one `nft -f` per
ruleset, one workload server for all listeners.

The applier only executes the plan's operations; the order within each namespace is the
plan's. Across namespaces, operations of a phase are independent and are batched.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ...errors import RuntimeFailure
from ...plan import ops
from ...plan.render import command
from ...runner import run
from . import nsfs
from .netlink import Failure, NetlinkSocket

Progress = Callable[[str, int, int], None]
BRIDGE_INDEX_BASE = 1000  # bridges get fixed ifindexes so ports can be enslaved without a lookup
# A veth whose two ends have the same ifindex (e.g. 2 and 2, in two fresh namespaces) is
# not an "urgent" link event for the kernel: its carrier comes up only after linkwatch's
# delay (up to 1 s), and early packets are lost. Ends made here get unique high indexes.
VETH_INDEX_BASE = 100_000


class Applier:
    def __init__(self, plan: ops.Plan, progress: Progress, record: Callable[[], None]):
        self.plan = plan
        self.progress = progress
        self.record = record  # persists state after each step that creates something
        self.sockets: dict[str, NetlinkSocket] = {}
        self.fds: dict[str, int] = {}
        self.indexes: dict[str, dict[str, int]] = {}
        self.bridges: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        for fd in self.fds.values():
            os.close(fd)
        self.sockets.clear()
        self.fds.clear()

    # Phases -------------------------------------------------------------------
    def namespaces(self) -> None:
        creates = self.plan.of(ops.CreateNamespace)
        sysctls: dict[str, list[ops.Sysctl]] = defaultdict(list)
        for op in self.plan.of(ops.Sysctl):
            sysctls[op.ns].append(op)
        nsfs.prepare_netns_dir()
        for done, op in enumerate(creates, start=1):
            self.sockets[op.ns] = nsfs.run_in_new_namespace(
                op.ns, lambda op=op: self._inside_new(op, sysctls.get(op.ns, [])))
            self.fds[op.ns] = os.open(nsfs.path_of(op.ns), os.O_RDONLY)
            if done % 64 == 0 or done == len(creates):
                self.progress("namespaces", done, len(creates))

    def _inside_new(self, op: ops.CreateNamespace, sysctls: list[ops.Sysctl]) -> NetlinkSocket:
        for item in sysctls:
            try:
                nsfs.write_sysctl(item.key, item.value)
            except OSError as exc:
                raise RuntimeFailure(f"{command(item)}: {exc.strerror}") from None
        sock = NetlinkSocket.open()
        if op.mark:
            sock.altname("lo", op.mark, command(op))
        sock.link_up("lo", what=f"ip -n {op.ns} link set lo up")
        _raise(sock.flush())
        return sock

    def links(self) -> None:
        bridges = self.plan.of(ops.Bridge)
        veths = self.plan.of(ops.Veth)
        for number, op in enumerate(bridges):
            index = BRIDGE_INDEX_BASE + number
            self.bridges[(op.ns, op.name)] = index
            self.sockets[op.ns].bridge(op.name, index, command(op))
            if op.alias and op.alias != op.name:
                self.sockets[op.ns].altname(op.name, op.alias, command(op))
        self._flush_all("bridges")
        for number, op in enumerate(veths):
            self.sockets[op.ns].veth(op.name, op.peer_name, self.fds[op.peer_ns],
                                     VETH_INDEX_BASE + number, command(op))
        self._flush_all("links")
        for op in veths:
            master = self.bridges.get((op.peer_ns, op.peer_master), 0) if op.peer_master else 0
            self.sockets[op.peer_ns].link_up(op.peer_name, master, command(op))
        for op in self.plan.of(ops.LinkUp):
            if op.name != "lo":
                self.sockets[op.ns].link_up(op.name, what=command(op))
        self._flush_all("links")

    def addresses(self) -> None:
        for op in self.plan.of(ops.Address):
            self.sockets[op.ns].address(self._index(op.ns, op.dev), op.address, command(op))
        for op in self.plan.of(ops.NeighProxy):
            self.sockets[op.ns].neigh_proxy(self._index(op.ns, op.dev), op.address, command(op))
        self._flush_all("addresses")

    def routes(self) -> None:
        for op in self.plan.of(ops.Route):
            oif = self._index(op.ns, op.dev) if op.dev else 0
            self.sockets[op.ns].route(op.to, op.via, oif, op.scope, op.family, command(op))
        self._flush_all("routes")

    def rulesets(self, workers: int = 8) -> None:
        rulesets = _per_namespace(self.plan.of(ops.Ruleset))

        def apply(op: ops.Ruleset) -> None:
            run(["nsenter", f"--net={nsfs.path_of(op.ns)}", "nft", "-f", "-"], input=op.text)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done, _ in enumerate(pool.map(apply, rulesets), start=1):
                if done % 16 == 0 or done == len(rulesets):
                    self.progress("rulesets", done, len(rulesets))

    def files(self) -> None:
        for op in self.plan.of(ops.WriteFile):
            os.makedirs(os.path.dirname(op.path), exist_ok=True)
            with open(op.path, "w") as handle:
                handle.write(op.content)

    # Helpers ------------------------------------------------------------------
    def _index(self, ns: str, dev: str) -> int:
        if dev == "lo":
            return 1
        known = self.indexes.get(ns)
        if known is None or dev not in known:
            known = self.indexes[ns] = self.sockets[ns].link_indexes()
        if dev not in known:
            raise RuntimeFailure(f"no interface {dev} in namespace {ns}")
        return known[dev]

    def _flush_all(self, step: str) -> None:
        busy = [ns for ns, sock in self.sockets.items() if sock.pending]
        for done, ns in enumerate(busy, start=1):
            _raise(self.sockets[ns].flush(), ns)
            if done % 64 == 0 or done == len(busy):
                self.progress(step, done, len(busy))


def _per_namespace(rulesets: list[ops.Ruleset]) -> list[ops.Ruleset]:
    """The tables of one namespace in one `nft -f`: one transaction, one process."""
    merged: dict[str, ops.Ruleset] = {}
    for op in rulesets:
        seen = merged.get(op.ns)
        merged[op.ns] = op if seen is None else \
            ops.Ruleset(op.ns, f"{seen.table}+{op.table}", seen.text + op.text, seen.comment)
    return list(merged.values())


def _raise(failures: list[Failure], ns: str = "") -> None:
    if failures:
        shown = "\n".join(f"  {f}" for f in failures[:5])
        more = f"\n  … and {len(failures) - 5} more" if len(failures) > 5 else ""
        raise RuntimeFailure(f"netlink refused {len(failures)} request(s){' in ' + ns if ns else ''}:\n"
                             f"{shown}{more}")
