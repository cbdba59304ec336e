"""The netns runtime: the provider that realises a plan in network namespaces."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ... import privileges
from ... import state as statefile
from ...errors import KindscapeError, StateError
from ...linux import netns_etc, nsfs, processes
from ...linux.workers import Workers
from ...progress import Progress, no_progress
from ...runner import logged, require
from ...marks import netns_prefix, ownership_mark
from ...state import ScenarioState
from ..base import EXEC, IMPAIR, TRACE
from .. import liveness

# What only some commands need is imported where it is used: `status` and `check` start
# without the plan's operations (~60M instructions of dataclasses), `status` without
# the prober, and neither with concurrent.futures (which imports logging).
if TYPE_CHECKING:
    from . import ops
    from ...probe.prober import ProbeResult, ProbeTask
    from ...topology import Impairment, Location, Topology
    from .planner import NetnsPlan

WORKLOADS = "workloads"
REMOVERS = 32  # threads unmounting namespaces in `down` (they mostly wait)


class NetnsRuntime:
    name = "netns"
    capabilities = frozenset({TRACE, IMPAIR, EXEC})

    def check_privileges(self) -> None:
        check_privileges()

    def preflight(self, topology: Topology) -> None:
        check_privileges()
        require("nft")
        require("nsenter")  # impairments (links.py) and trace (introspect.py) enter with it
        from ..kernel_needs import check_protocols
        check_protocols(topology)
        self.check_links([(f"impairments[{i}] (between {item.sides[0]} and {item.sides[1]})", item)
                          for i, item in enumerate(topology.impairments)])
        prefix = netns_prefix(topology.scenario)
        clashes = [n for n in nsfs.listed() if n.startswith(prefix)]
        if clashes:
            raise KindscapeError(
                f"namespace {clashes[0]} already exists ({len(clashes)} of scenario "
                f"{topology.scenario!r}): left by a crash? run `kindscape down {topology.scenario}`")

    def plan(self, topology: Topology) -> NetnsPlan:
        from . import planner
        return planner.plan(topology)

    def plan_script(self, plan: ops.Plan) -> str:
        from .render import script
        return script(plan)

    def plan_json(self, plan: ops.Plan) -> dict:
        from .render import to_json
        return to_json(plan)

    def up(self, topology: Topology, plan: NetnsPlan, state: ScenarioState, progress: Progress,
           save: Callable[[], None]) -> Topology:
        """The namespaces are the planned ones: the topology is up as planned."""
        # Record before creating: a crash at any point leaves a state `down` can use.
        state.namespaces = plan.namespaces()
        state.files = list(dict.fromkeys(map(netns_etc.link_of, plan.files())))  # links: see netns_etc
        # Directories the files need that do not exist yet (e.g. /etc/netns on a machine
        # that never used `ip netns exec` files) go with the scenario, when empty then;
        # so do those another scenario made, so that the last one down removes them.
        state.extra["directories"] = _missing_directories(state.files, _made_by_scenarios(state.name))
        save()
        directory = statefile.scenario_dir(plan.scenario)  # also the store of the /etc files
        # The workload server starts first, so that its interpreter starts on the other
        # core while the namespaces are made; it opens its listeners once they exist.
        from .ops import StartWorkloads
        servers = [processes.spawn_server(_server_spec(plan.scenario, op), directory, WORKLOADS)
                   for op in plan.of(StartWorkloads)]
        state.processes += [server.record for server in servers]
        save()
        from .apply import Applier  # the netlink adapter is imported only where messages are built
        applier = Applier(plan, progress, directory)
        try:
            applier.namespaces()
            for server in servers:
                server.go()
            applier.start_background()
            applier.links()
            applier.addresses()
            applier.routes()
            applier.rulesets()
            applier.files()
        finally:
            applier.close()
        if topology.impairments:  # (their module loads only for a scenario that has some)
            from ...plan.link_faults import LinkRules, Shaping
            self.set_links(state, plan.of(Shaping) + plan.of(LinkRules), [], progress)
        for server in servers:
            progress("workloads", 0, 1)
            server.wait_ready()
            progress("workloads", 1, 1)
        return topology

    def plan_links(self, topology: Topology, impairments: tuple, partitions: tuple) -> list:
        from ...plan.link_faults import plan_links
        return plan_links(topology, impairments, partitions)

    def check_links(self, items: list[tuple[str, Impairment | None]]) -> None:
        """Refuse impairments (None: a partition) this kernel cannot do, naming the feature."""
        if items:
            from .. import kernel_needs
            kernel_needs.check(items)

    def set_links(self, state: ScenarioState, desired: list, previous: list, progress: Progress) -> None:
        """Make the scenario's impairments and partitions match `desired` (link ops)."""
        from ...linux import shaping
        from ...plan.link_faults import changes
        shaping.apply(changes(desired, previous), progress)

    def down(self, state: ScenarioState, progress: Progress) -> list[str]:
        check_privileges()
        removed: list[str] = []
        directory = statefile.scenario_dir(state.name)
        processes.withdraw(directory, WORKLOADS)
        records = state.processes + processes.find_servers(directory)
        for record in records:
            if processes.stop(record):
                removed.append(f"process {record['pid']} ({record['role']})")
        names = list(dict.fromkeys(state.namespaces + self._marked_namespaces(state.name, set(state.namespaces))))
        # Each unmount waits for an RCU grace period (~0.4 ms, mostly waiting): many go at once.
        def told(done: int, total: int) -> None:
            if done % 64 == 0 or done == total:
                progress("namespaces", done, total)
        gone = Workers(nsfs.remove, names, REMOVERS, "netns-remove").wait(told)
        removed += [f"namespace {name}" for name, went in zip(names, gone) if went]
        removed += [f"file {path}" for path in _remove_files(state.files, directory, ownership_mark(state.name))]
        for made in state.extra.get("directories", []):
            _remove_empty_dirs(made)
        return removed

    def _marked_namespaces(self, scenario: str, recorded: set[str] = frozenset()) -> list[str]:
        """Namespaces named for the scenario *and* carrying its mark on lo (never by name
        alone), besides those the state records."""
        prefix = netns_prefix(scenario)
        named = [n for n in nsfs.listed() if n.startswith(prefix) and n not in recorded]
        return [n for n in named if _is_unmounted(n)] + _with_mark(named, ownership_mark(scenario))

    def orphans(self, scenario: str) -> ScenarioState | None:
        check_privileges()  # without them, marks cannot be read: never report "nothing found"
        names = self._marked_namespaces(scenario)
        procs = processes.find_servers(statefile.scenario_dir(scenario))
        if not names and not procs:
            return None
        return ScenarioState(scenario, self.name, phase="orphaned", namespaces=names, processes=procs,
                             files=_marked_files(names, statefile.scenario_dir(scenario), ownership_mark(scenario)))

    def probe(self, state: ScenarioState, tasks: list[ProbeTask], timeout: float,
              progress: Progress = no_progress) -> list[ProbeResult]:
        check_privileges()
        sources = sorted({task.source_ns for task in tasks})
        _require_namespaces(state, sources)
        liveness.require_workloads(state)
        from ...probe import prober
        try:
            return prober.run(tasks, timeout=timeout, progress=progress)
        except OSError:  # a namespace went away while probing (`down` is at work): its file
            # is gone (ENOENT) or unmounted but not yet removed (setns: EINVAL)
            _require_namespaces(state, sources, present=nsfs.is_mounted)
            raise

    def kernel(self, state: ScenarioState):
        """What `trace` asks: routes, rulesets, sockets and sysctls of the namespaces."""
        check_privileges()
        _require_namespaces(state, state.namespaces)
        liveness.require_workloads(state)  # trace reads the listening sockets
        from .introspect import NetnsKernel
        return NetnsKernel()

    def exec(self, state: ScenarioState, where: Location, argv: Sequence[str],
             capture: bool) -> subprocess.CompletedProcess:
        check_privileges()
        _require_namespaces(state, [where])
        liveness.require_workloads(state)  # what the command reaches is the server's
        full = [require("ip"), "netns", "exec", where, *argv]
        output = {"capture_output": True, "text": True} if capture else {}
        with logged(shlex.join(full)):  # not runner.run: the command's failure is its caller's answer
            return subprocess.run(full, check=False, **output)

    def health(self, state: ScenarioState) -> list[str]:
        problems = [f"{r['role']} server (pid {r['pid']}) is not running"
                    for r in state.processes if not processes.alive(r)]
        missing = [n for n in state.namespaces if not nsfs.exists(n)]
        if missing:
            problems.append(f"{len(missing)} namespaces are missing (e.g. {missing[0]})")
        return problems


def _server_spec(scenario: str, op: ops.StartWorkloads) -> dict:
    """The workload server's spec: echo listeners, and each cluster's DNS (see probe/dns.py)."""
    return {"scenario": scenario,
            "listeners": [{"ns": l.ns, "endpoint": l.endpoint, "ports": list(l.ports), "udp": list(l.udp_ports)}
                          for l in op.listeners]
            + [{"ns": d.ns, "endpoint": d.endpoint, "ports": [],
                "dns": {"zone": d.zone, "records": [[r.name, r.type, r.data] for r in d.records]}}
               for d in op.dns]}


def _require_namespaces(state: ScenarioState, names: Sequence[str],
                        present: Callable[[str], bool] = nsfs.exists) -> None:
    """Commands on a scenario need its namespaces: one gone means `down` is removing the
    scenario, or someone removed it by hand; either way, say so instead of failing later.
    (`exists` is a stat per name; `is_mounted` asks the kernel, for when it matters.)"""
    missing = [name for name in names if not present(name)]
    if missing:
        raise StateError(f"scenario {state.name!r} is not whole: namespace {missing[0]} is gone"
                         f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}: it is being "
                         f"removed, or was changed by hand; run `kindscape down {state.name}`")


def check_privileges() -> None:
    privileges.require(privileges.NETNS, "the netns runtime",
                       "to create, enter and mount network namespaces")


def _with_mark(names: list[str], mark: str) -> list[str]:
    """The namespaces among `names` whose lo carries `mark`."""
    from ...linux.netlink import NetlinkSocket

    def look(_name: str) -> bool:
        sock = NetlinkSocket.open()
        try:
            return mark in sock.altnames("lo")
        finally:
            sock.close()
    return [name for name, marked in zip(names, nsfs.run_in_each(names, look)) if marked is True]


def _marked_files(namespaces: list[str], store: str, mark: str) -> list[str]:
    """The namespaces' /etc/netns links into the scenario's store (their mark: see
    netns_etc), and resolv.conf files whose first line carries the mark (an older
    kindscape wrote them in a directory per pod)."""
    from ...plan.clusterdns import resolv_conf_path
    found = []
    for name in namespaces:
        path = resolv_conf_path(name)
        link = os.path.dirname(path)
        if netns_etc.is_owned(link, store):
            found.append(link)
        elif _carries_mark(path, mark) and not os.path.islink(link):
            found.append(path)
    return found


def _carries_mark(path: str, mark: str) -> bool:
    try:
        with open(path) as handle:
            return handle.readline().startswith(f"# {mark}:")
    except OSError:
        return False


def _is_unmounted(name: str) -> bool:
    """An empty file left by a crash between creating it and mounting the namespace on it."""
    try:
        return not nsfs.is_mounted(name) and os.path.getsize(nsfs.path_of(name)) == 0
    except OSError:
        return False


def _missing_directories(files: list[str], made: frozenset[str] = frozenset()) -> list[str]:
    """The directories above `files` that do not exist, or that scenarios made (`made`),
    deepest first."""
    missing: set[str] = set()
    for path in files:
        directory = os.path.dirname(path)
        while directory not in missing and directory != os.path.dirname(directory) \
                and (directory in made or not os.path.isdir(directory)):
            missing.add(directory)
            directory = os.path.dirname(directory)
    return sorted(missing, key=lambda d: (-d.count("/"), d))


def _made_by_scenarios(besides: str) -> frozenset[str]:
    """The directories the other scenarios with state here made for their files."""
    made: set[str] = set()
    for name in statefile.names():
        if name != besides:
            try:
                other = statefile.load(name)
            except StateError:  # unreadable: its `down` goes by marks, and leaves directories
                continue
            if other is not None:
                made.update(other.extra.get("directories", []))
    return frozenset(made)


def _remove_files(paths: list[str], store: str, mark: str) -> list[str]:
    """Remove the scenario's files: its /etc/netns links (and the store they point into),
    and files that carry its mark in a directory of their own (an older kindscape's), with
    that directory when it is left empty. Anything else is not the scenario's: left."""
    removed = netns_etc.remove(paths, store)
    gone = set(removed)
    for path in paths:
        if path not in gone and _carries_mark(path, mark):
            os.unlink(path)
            _remove_empty_dirs(os.path.dirname(path))
            removed.append(path)
    return removed


def _remove_empty_dirs(directory: str) -> None:
    try:
        os.rmdir(directory)
    except OSError:
        pass
