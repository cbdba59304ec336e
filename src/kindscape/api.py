"""The public Python API: load, up (a context manager), check, exec, status, down.

The CLI is a thin layer over these functions; tests and notebooks use them directly.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import codec, endpoints
from . import state as statefile
from .errors import KindscapeError, StateError
from .runtimes.base import Progress, Runtime, no_progress
from .state import ScenarioState
from .topology import Topology

if TYPE_CHECKING:
    from .scenario import Scenario

RUNTIMES = ("netns", "kind")

__all__ = ["Lab", "load", "up", "attach", "down", "status", "plan", "get_runtime", "list_up"]


def get_runtime(name: str) -> Runtime:
    if name == "netns":
        from .runtimes.netns.runtime import NetnsRuntime
        return NetnsRuntime()
    if name == "kind":
        try:
            from .runtimes.kind.runtime import KindRuntime
        except ImportError:
            raise KindscapeError("the kind runtime is not available in this version") from None
        return KindRuntime()
    raise KindscapeError(f"unknown runtime {name!r}: use one of {', '.join(RUNTIMES)}")


def load(path: str | os.PathLike) -> "Scenario":
    """Load and validate a scenario file (raises ScenarioError with every problem, located)."""
    from .scenario import load as load_file
    return load_file(path)


def _as_scenario(scenario: "Scenario | str | os.PathLike") -> "Scenario":
    from .scenario import Scenario
    return scenario if isinstance(scenario, Scenario) else load(scenario)


def plan(scenario: "Scenario | str | os.PathLike", runtime: str = "netns"):
    """The operations `up` would apply (pure: creates nothing)."""
    return get_runtime(runtime).plan(_as_scenario(scenario).topology)


class Lab:
    """A scenario that is up. Leaving a `with` block takes it down, even on error."""

    def __init__(self, state: ScenarioState):
        self.state = state
        self.name = state.name
        self.runtime: Runtime = get_runtime(state.runtime)
        self.topology: Topology = codec.decode(Topology, state.topology)
        self.is_down = False

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.is_down:
            self.down()

    def __repr__(self) -> str:
        return f"Lab({self.name!r}, runtime={self.state.runtime!r})"

    def check(self, all: bool = False, timeout: float = 1.0):
        """Probe and judge the expectations (or every pair); same content as `check -o json`."""
        from .probe import checks
        return checks.check(self.topology, lambda tasks: self.runtime.probe(self.state, tasks, timeout),
                            everything=all)

    def explain(self, report):
        """Give each failed expectation of a `check` report its one-line reason, from `trace`
        (what `check --explain` shows); returns the report."""
        from .trace.explain import explain
        explain(report.expectations, self.trace)
        return report

    def trace(self, source: str, target: str, port: int | None = None, address: str | None = None):
        """The path a new connection from `source` to `target` takes, hop by hop, and its
        reply's path back (same content as `trace -o json`)."""
        from .trace import trace
        open_kernel = getattr(self.runtime, "kernel", None)
        if open_kernel is None:
            raise KindscapeError(f"trace is not available for the {self.state.runtime} runtime")
        with open_kernel(self.state) as kernel:
            return trace(self.topology, kernel, source, target, port, address)

    def exec(self, endpoint: str, argv: Sequence[str], capture: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside an endpoint (pod, node, host, docker-host)."""
        target = _exec_target(self.topology, endpoint)
        return self.runtime.exec(self.state, target, list(argv), capture)

    def status(self) -> dict[str, Any]:
        from .render.status import status_json
        return status_json(self.topology, self.state, self.runtime.health(self.state))

    def down(self, progress: Progress = no_progress) -> list[str]:
        removed = down(self.name, progress)
        self.is_down = True
        return removed


def _exec_target(topology: Topology, selector: str) -> str:
    try:
        endpoint = endpoints.single(topology, selector)
    except endpoints.EndpointError as exc:
        raise KindscapeError(f"{exc}{'; ' + exc.hint if exc.hint else ''}") from None
    if not endpoint.netns:
        raise KindscapeError(f"{selector} is a Service: exec into a pod, node or host")
    return endpoint.netns


def up(scenario: "Scenario | str | os.PathLike", runtime: str = "netns",
       progress: Progress = no_progress) -> Lab:
    """Create the scenario; on any failure or interruption, remove what was created."""
    loaded = _as_scenario(scenario)
    provider = get_runtime(runtime)
    with statefile.locked(loaded.name) as lock:
        _refuse_existing(loaded.name)
        provider.preflight(loaded.topology)
        plan_ = provider.plan(loaded.topology)
        state = ScenarioState(loaded.name, runtime, source=loaded.source,
                              topology=codec.encode(loaded.topology))
        with _terminate_as_interrupt():
            try:
                provider.up(plan_, state, _with_crash_hook(progress), lambda: statefile.save(state))
            except BaseException:
                provider.down(state, no_progress)
                statefile.forget(loaded.name)
                lock.remove_on_exit = True
                raise
        state.phase = "up"
        statefile.save(state)
    return Lab(state)


def _with_crash_hook(progress: Progress) -> Progress:
    """Test hook for crash safety: KINDSCAPE_TEST_KILL_AT=<step>[:<count>] makes `up`
    SIGKILL itself when that progress step reaches the count (as a crash would)."""
    spec = os.environ.get("KINDSCAPE_TEST_KILL_AT")
    if not spec:
        return progress
    step, _, count = spec.partition(":")

    def hooked(name: str, done: int, total: int) -> None:
        progress(name, done, total)
        if name == step and done >= int(count or 0):
            os.kill(os.getpid(), signal.SIGKILL)
    return hooked


def _refuse_existing(name: str) -> None:
    existing = statefile.load(name)
    if existing is None:
        return
    if existing.phase == "up":
        raise StateError(f"scenario {name!r} is already up (runtime {existing.runtime}): "
                         f"run `kindscape down {name}` first")
    raise StateError(f"scenario {name!r} has stale state from an interrupted `{existing.phase}` "
                     f"(pid {existing.pid}): run `kindscape down {name}` to clean it up")


class _terminate_as_interrupt:
    """SIGTERM during `up` unwinds like Ctrl-C, so what was made is removed."""

    def __enter__(self):
        def handler(signum, frame):
            raise KeyboardInterrupt(f"signal {signum}")
        try:
            self.previous = signal.signal(signal.SIGTERM, handler)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def attach(name: str) -> Lab:
    """The Lab of a scenario that is up."""
    state = statefile.load(name)
    if state is None:
        raise StateError(f"no scenario named {name!r} is up" + _known())
    if state.phase != "up":
        raise StateError(f"scenario {name!r} is not up (it is {state.phase!r}): "
                         f"run `kindscape down {name}`")
    return Lab(state)


def _known() -> str:
    names = statefile.names()
    return f" (up: {', '.join(names)})" if names else ""


def down(name: str, progress: Progress = no_progress, runtime: str | None = None) -> list[str]:
    """Remove everything of a scenario, from its state file or, without one, by its marks."""
    with statefile.locked(name, wait=True) as lock:
        state = statefile.load(name)
        if state is None:
            state = _orphans(name, runtime)
            if state is None:
                lock.remove_on_exit = True
                raise StateError(f"no scenario named {name!r} is up, and nothing of it was found"
                                 + _known())
        state.phase = "removing"
        if os.path.isdir(statefile.scenario_dir(name)):
            statefile.save(state)
        removed = get_runtime(state.runtime).down(state, progress)
        statefile.forget(name)
        lock.remove_on_exit = True
    return removed


def _orphans(name: str, runtime: str | None) -> ScenarioState | None:
    for candidate in ([runtime] if runtime else list(RUNTIMES)):
        try:
            found = get_runtime(candidate).orphans(name)
        except KindscapeError:
            continue
        if found is not None:
            return found
    return None


def list_up() -> list[str]:
    return statefile.names()


def status(name: str | None = None) -> dict[str, Any]:
    """One scenario's status, or {"scenarios": [...]} for every scenario that is up."""
    if name is not None:
        return attach(name).status()
    found = []
    for each in statefile.names():
        state = statefile.load(each)
        if state is not None and state.phase == "up":
            found.append(Lab(state).status())
    return {"scenarios": found}
