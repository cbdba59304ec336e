"""The provider interface every runtime implements: all side effects live behind it.

What a runtime can do beyond the lifecycle (up, down, probe, status) it declares in
`capabilities`, and callers ask there, never by looking for a method: `trace` (it answers
`kernel`), `impair` (impairments and partitions: `check_links`, `set_links`), `exec`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from ..progress import Progress, no_progress

if TYPE_CHECKING:  # annotations only: `check` and `down` need not import the plan's ops
    import subprocess

    from ..plan.layout import Plan
    from ..probe.prober import ProbeResult, ProbeTask
    from ..state import ScenarioState
    from ..topology import Location
    from ..topology import Topology
    from ..trace.kernel import Kernel



TRACE = "trace"
IMPAIR = "impair"
EXEC = "exec"


class Runtime(Protocol):
    name: str
    capabilities: frozenset[str]  # of TRACE, IMPAIR, EXEC

    def check_privileges(self) -> None:
        """Raise PrivilegeError unless this process has the capabilities the runtime needs
        (privileges.require: the same check, and the same message, for every runtime)."""

    def preflight(self, topology: Topology) -> None:
        """Refuse, before anything is created, what cannot work here (privileges, tools,
        kernel features, name clashes with what exists)."""

    def plan(self, topology: Topology) -> Plan:
        """The operations `up` would apply."""

    def plan_script(self, plan: Plan) -> str:
        """The plan as the equivalent commands (its renderer's), what `kindscape plan` prints."""

    def plan_json(self, plan: Plan) -> dict:
        """The plan as JSON (`kindscape plan -o json`)."""

    def up(self, topology: Topology, plan: Plan, state: ScenarioState, progress: Progress,
           save: Callable[[], None]) -> Topology:
        """Create everything `plan` (made from `topology`) says; record each thing in
        `state` (and `save()`) before making it. Returns the topology as it is up, which
        `state.topology` records: the planned one, or one with what the machine really gave
        (the kind runtime: the addresses Docker and Kubernetes picked, the containers'
        namespaces)."""

    def plan_links(self, topology: Topology, impairments: tuple, partitions: tuple) -> list:
        """(IMPAIR) The link operations that put these impairments and partitions in place
        (plan/link_faults.py, in this runtime's namespaces and table names)."""

    def check_links(self, items: list) -> None:
        """Refuse, before changing anything, impairments or partitions (`(where, Impairment
        or None)` pairs) that need what this machine lacks, naming the missing feature."""

    def set_links(self, state: ScenarioState, desired: list, previous: list, progress: Progress) -> None:
        """Put the link operations `desired` in place of `previous` (see plan/link_faults.py)."""

    def down(self, state: ScenarioState, progress: Progress) -> list[str]:
        """Remove everything the state records, and anything else carrying the scenario's
        mark; returns what was removed (for the user)."""

    def orphans(self, scenario: str) -> ScenarioState | None:
        """What a scenario left without a state file, found by its ownership marks."""

    def probe(self, state: ScenarioState, tasks: list[ProbeTask], timeout: float,
              progress: Progress = no_progress) -> list[ProbeResult]:
        """Run TCP probes from the tasks' source endpoints (progress: the `probes` step)."""

    def exec(self, state: ScenarioState, where: Location, argv: Sequence[str],
             capture: bool) -> subprocess.CompletedProcess:
        """Run a command inside an endpoint."""

    def kernel(self, state: ScenarioState) -> Kernel:
        """(TRACE) What `trace` asks the kernel of each namespace (a context manager)."""

    def health(self, state: ScenarioState) -> list[str]:
        """What is wrong with a scenario that is up (e.g. its workload server died)."""


def require(runtime: Runtime, capability: str, what: str) -> None:
    """Refuse `what` when the runtime does not declare the capability it needs."""
    from ..errors import KindscapeError
    if capability not in runtime.capabilities:
        raise KindscapeError(f"{what} is not available for the {runtime.name} runtime")
