"""Applying a plan to real namespaces: batched netlink per namespace, one `nft -f` per
ruleset, one workload server for all listeners.

The applier only executes the plan's operations; the order within each namespace is the
plan's. Across namespaces, operations of a phase are independent and are batched.

Where the time goes (1,000 namespaces, 12,700 routes, 2 cores): the kernel's own work
dominates - creating namespaces (~0.3 ms each) and veth pairs (~0.4 ms each, under
the global rtnl lock) - so the applier keeps its own share small: namespaces are made
by two long-lived threads, messages are packed by hand and sent a thousand per
send(2), interface indexes are chosen here (no dumps), veths get one queue per end,
nft runs while the links are made, and failures are described only when they happen.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING

from ...errors import RuntimeFailure
from ...linux import netns_etc, nsfs
from ...linux.netlink import Failure, NetlinkSocket
from ...linux.workers import Workers
from . import ops
from ...progress import Progress
from ...runner import logged, run
from .render import command

if TYPE_CHECKING:
    from .planner import NetnsPlan

BRIDGE_INDEX_BASE = 1000  # bridges get fixed ifindexes so ports can be enslaved without a lookup
# A veth whose two ends have the same ifindex (e.g. 2 and 2, in two fresh namespaces) is
# not an "urgent" link event for the kernel: its carrier comes up only after linkwatch's
# delay (up to 1 s), and early packets are lost. Both ends made here get unique indexes.
VETH_INDEX_BASE = 100_000
# One queue per veth end instead of the kernel's one per CPU: each queue is a kobject with
# its sysfs files, and a pair made with one queue each costs the kernel ~35% less (no
# traffic here needs several: no XDP, no multi-queue qdisc).
VETH_QUEUES = 1
NAMESPACE_WORKERS = 2  # the kernel's namespace setup scales to about two threads here
RULESET_WORKERS = 4
SYNC_CHUNK = 128  # link answers (~1-4 KiB of buffer each) per send(2)


class Applier:
    def __init__(self, plan: NetnsPlan, progress: Progress, store: str):
        self.plan = plan
        self.store = store  # where the namespaces' shared /etc files go (netns_etc)
        self.progress = progress
        self.sockets: dict[str, NetlinkSocket] = {}
        self.fds: dict[str, int] = {}
        self.indexes: dict[tuple[str, str], int] = {}  # (ns, dev) -> ifindex, chosen here
        self.dumped: set[str] = set()
        self.pending_rulesets: Workers | None = None
        self.pending_files: Workers | None = None

    def close(self) -> None:
        for pending in (self.pending_rulesets, self.pending_files):
            if pending is not None:
                pending.cancel()
        for sock in self.sockets.values():
            sock.close()
        for fd in self.fds.values():
            os.close(fd)
        self.sockets.clear()
        self.fds.clear()

    # Phases -------------------------------------------------------------------
    def namespaces(self) -> None:
        creates = {op.ns: op for op in self.plan.of(ops.CreateNamespace)}
        sysctls: dict[str, list[ops.Sysctl]] = defaultdict(list)
        for op in self.plan.of(ops.Sysctl):
            sysctls[op.ns].append(op)
        nsfs.prepare_netns_dir()
        made = nsfs.create_many(list(creates), lambda ns: _inside_new(creates[ns], sysctls.get(ns, [])),
                                workers=NAMESPACE_WORKERS)
        # Closed on the way out of any failure or interrupt, so the makers' threads have
        # stopped before the caller cleans up (a traceback would keep the generator alive).
        with contextlib.closing(made):
            for done, (ns, sock) in enumerate(made, start=1):
                self.sockets[ns] = sock
                if done % 64 == 0 or done == len(creates):
                    self.progress("namespaces", done, len(creates))

    def links(self) -> None:
        veths = self.plan.of(ops.Veth)
        for number, op in enumerate(self.plan.of(ops.Bridge)):
            index = self.indexes[(op.ns, op.name)] = BRIDGE_INDEX_BASE + number
            self.sockets[op.ns].bridge(op.name, index, partial(command, op), mac=op.mac)
            if op.alias and op.alias != op.name:
                self.sockets[op.ns].altname(op.name, op.alias, partial(command, op))
        self._flush_all("bridges")
        for number, op in enumerate(veths):
            index = self.indexes[(op.ns, op.name)] = VETH_INDEX_BASE + 2 * number
            peer_index = self.indexes[(op.peer_ns, op.peer_name)] = index + 1
            self.sockets[op.ns].veth(op.name, op.peer_name, self._fd(op.peer_ns), index, partial(command, op),
                                     peer_index=peer_index, mac=op.mac, peer_mac=op.peer_mac,
                                     queues=VETH_QUEUES)
        self._flush_all("links")
        for op in veths:
            master = self.indexes[(op.peer_ns, op.peer_master)] if op.peer_master else 0
            self.sockets[op.peer_ns].link_up(op.peer_name, master, partial(command, op))
        for op in self.plan.of(ops.LinkUp):
            if op.name != "lo":
                self.sockets[op.ns].link_up(op.name, what=partial(command, op))
        self._flush_all("links")
        self._settle_links()

    def _settle_links(self) -> None:
        """Make the kernel apply every link's carrier change now: after a burst of
        thousands, its linkwatch queue can leave links dropping all traffic for a second
        after `up` returns (probes then time out)."""
        for (ns, _dev), index in self.indexes.items():
            self.sockets[ns].sync_link(index)
        for ns, sock in self.sockets.items():
            if sock.pending:
                _raise(sock.flush(chunk_size=SYNC_CHUNK), ns)

    def addresses(self) -> None:
        for op in self.plan.of(ops.Address):
            self.sockets[op.ns].address(self._index(op.ns, op.dev), op.address, partial(command, op))
        for op in self.plan.of(ops.NeighProxy):
            self.sockets[op.ns].neigh_proxy(self._index(op.ns, op.dev), op.address, partial(command, op))
        self._flush_all("addresses")

    def routes(self) -> None:
        """Routes and permanent neighbours, one batch per namespace."""
        for op in self.plan.ops:
            if isinstance(op, ops.Route):
                oif = self._index(op.ns, op.dev) if op.dev else 0
                self.sockets[op.ns].route(op.to, op.via, oif, op.scope, op.family, partial(command, op))
            elif isinstance(op, ops.Neighbour):
                self.sockets[op.ns].neighbour(self._index(op.ns, op.dev), op.address, op.mac,
                                              partial(command, op))
        self._flush_all("routes")

    def start_background(self) -> None:
        """Apply the rulesets and write the files in the background (they need only the
        namespaces): the `nft` processes and the filesystem (a journaled /etc) work on the
        other core while links, addresses and routes are made."""
        def apply(op: ops.Ruleset) -> None:
            # `nft` started from a thread inside the namespace runs there: no nsenter.
            with nsfs.entered(op.ns):
                run(["nft", "-f", "-"], input=op.text)

        self.pending_files = Workers(lambda files: _write_files(files, self.store), [self.plan.of(ops.WriteFile)],
                                     1, "files")
        self.pending_rulesets = Workers(apply, _per_namespace(self.plan.of(ops.Ruleset)), RULESET_WORKERS, "nft")

    def rulesets(self) -> None:
        """Wait for the rulesets `start_background` began (the first failure is raised)."""
        def each(done: int, total: int) -> None:
            if done % 16 == 0 or done == total:
                self.progress("rulesets", done, total)
        self.pending_rulesets.wait(each)

    def files(self) -> None:
        """Wait for the files `start_background` began writing."""
        self.pending_files.wait()

    # Helpers ------------------------------------------------------------------
    def _fd(self, ns: str) -> int:
        """An open handle on a namespace, for creating a veth's peer directly inside it."""
        if ns not in self.fds:
            self.fds[ns] = os.open(nsfs.path_of(ns), os.O_RDONLY)
        return self.fds[ns]

    def _index(self, ns: str, dev: str) -> int:
        if dev == "lo":
            return 1
        index = self.indexes.get((ns, dev))
        if index is None and ns not in self.dumped:  # a link this applier did not make
            self.dumped.add(ns)
            for name, found in self.sockets[ns].link_indexes().items():
                self.indexes.setdefault((ns, name), found)
            index = self.indexes.get((ns, dev))
        if index is None:
            raise RuntimeFailure(f"no interface {dev} in namespace {ns}")
        return index

    def _flush_all(self, step: str) -> None:
        busy = [ns for ns, sock in self.sockets.items() if sock.pending]
        messages = sum(self.sockets[ns].pending for ns in busy)
        with logged(f"netlink {step}: {messages} messages in {len(busy)} namespaces"):
            for done, ns in enumerate(busy, start=1):
                _raise(self.sockets[ns].flush(), ns)
                if done % 64 == 0 or done == len(busy):
                    self.progress(step, done, len(busy))


def _write_files(files: list[ops.WriteFile], store: str) -> None:
    try:
        netns_etc.make(((op.path, op.content) for op in files), store)
    except OSError as exc:  # e.g. an /etc/netns/NS this scenario did not make
        raise RuntimeFailure(f"cannot write the namespaces' /etc files: "
                             f"{exc.filename2 or exc.filename}: {exc.strerror}") from None


def _inside_new(op: ops.CreateNamespace, sysctls: list[ops.Sysctl]) -> NetlinkSocket:
    """In a namespace just made: its sysctls, its netlink socket, `lo` up with the mark."""
    for item in sysctls:
        try:
            nsfs.write_sysctl(item.key, item.value)
        except OSError as exc:
            raise RuntimeFailure(f"{command(item)}: {exc.strerror}") from None
    sock = NetlinkSocket.open()
    if op.mark:
        sock.altname("lo", op.mark, partial(command, op))
    sock.link_up("lo", what=partial(command, op))
    try:
        _raise(sock.flush(), op.ns)
    except BaseException:
        sock.close()
        raise
    return sock


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
