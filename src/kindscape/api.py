"""The public Python API: load, up (a context manager), check, exec, status, down.

The CLI is a thin layer over these functions; tests and notebooks use them directly.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import codec, runtimes
from . import state as statefile
from .errors import NoSuchScenario, StateError
from .progress import Progress, no_progress, sink, with_crash_hook
from .runtimes.base import Runtime
from .removal import down, down_all, known_names
from .running import RunningScenario
from .state import ScenarioState
from .topology import Topology

if TYPE_CHECKING:
    from .plan.layout import Plan
    from .scenario import Scenario

RUNTIMES = runtimes.NAMES

__all__ = ["Lab", "load", "loads", "up", "attach", "down", "down_all", "status", "plan", "graph", "get_runtime", "list_up",
           "list_scenarios"]


def get_runtime(name: str) -> Runtime:
    """The provider of a runtime by name (`netns` or `kind`)."""
    return runtimes.provider(name)


def load(path: str | os.PathLike, name: str | None = None, allow_outside_files: bool = False) -> "Scenario":
    """Load and validate a scenario file ("-": standard input; raises ScenarioError with
    every problem, located). `name` replaces the file's `name`: the same file brought up
    twice side by side. The files it references (configFile, NetworkPolicy files) must lie
    inside its directory tree unless `allow_outside_files`."""
    from .scenario import load as load_file
    return load_file(path, name=name, allow_outside_files=allow_outside_files)


def loads(text: str, name: str | None = None) -> "Scenario":
    """Load and validate a scenario from YAML text (e.g. standard input); `name` as for
    `load`. configFile paths are relative to the current directory."""
    from .scenario.load import loads as load_text
    return load_text(text, name=name)


def _as_scenario(scenario: "Scenario | str | os.PathLike", name: str | None = None) -> "Scenario":
    from .scenario import Scenario
    if not isinstance(scenario, Scenario):
        return load(scenario, name=name)
    if name is not None and name != scenario.name:
        raise TypeError("a loaded Scenario keeps its name: load it with load(path, name=...) instead")
    return scenario


def plan(scenario: "Scenario | str | os.PathLike", runtime: str = "netns") -> "Plan":
    """The operations `up` would apply, in order (pure: creates nothing, needs no root)."""
    return get_runtime(runtime).plan(_as_scenario(scenario).topology)


class Lab(RunningScenario):
    """A scenario that is up: what `up` and `attach` return (running.py: what it can do).

    Use it as a context manager (`with kindscape.up(...) as lab:`): leaving the block
    takes the scenario down, also when the block raised. Outside a `with`, call `down()`.
    `name` is the scenario's name, `topology` its resolved topology (every node, pod,
    host and address), `state` what was recorded to take it down.
    """

    def __init__(self, state: ScenarioState, topology: Topology | None = None):
        super().__init__(state, get_runtime(state.runtime), topology)
        self.is_down = False

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.is_down:
            self.down()

    def __repr__(self) -> str:
        return f"Lab({self.name!r}, runtime={self.state.runtime!r})"

    def down(self, progress: Progress | None = None) -> list[str]:
        """Remove everything of the scenario; returns what was removed. Once down, a
        second call does nothing (so leaving a `with` block after `down()` is fine)."""
        if self.is_down:
            return []
        removed = down(self.name, progress)
        self.is_down = True
        return removed


def up(scenario: "Scenario | str | os.PathLike", runtime: str = "netns",
       progress: Progress | None = None, name: str | None = None) -> Lab:
    """Create the scenario (a loaded Scenario or a file) and return its Lab.

    `name` (with a file) runs it under that name instead of the file's `name`, so one
    file can be up twice side by side (two CI jobs, two pytest-xdist workers).

    On any failure or interruption (Ctrl-C, SIGTERM) what was created is removed before
    the error propagates. A scenario of the same name that is up is an error
    (StateError): take it down first. `progress(step, done, total)` is called as the work
    advances. The netns runtime needs root (PrivilegeError otherwise).
    """
    progress = sink(progress)
    with _collector_paused():
        return _up(scenario, runtime, progress, name)


@contextlib.contextmanager
def _collector_paused():
    """No cyclic garbage collection while `up` builds and applies its plan: what it makes
    (hundreds of thousands of operations at 10,000 namespaces) lives until it returns,
    and the collector's passes over it grow with it (~5% of `up` there)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _up(scenario, runtime: str, progress: Progress, name: str | None) -> Lab:
    loaded = _as_scenario(scenario, name)
    for warning in getattr(loaded, "warnings", ()):  # allowed, but probably not meant (validate says them too)
        import logging  # only here: importing it costs every command's start ~3 ms
        logging.getLogger("kindscape").warning("warning: %s", warning.render())
    provider = get_runtime(runtime)
    # SIGTERM unwinds like Ctrl-C from the start; the lock file goes with a scenario that
    # was never made (see statefile.locked).
    with _terminate_as_interrupt(), statefile.locked(loaded.name) as lock:
        _refuse_existing(loaded.name)
        try:
            provider.preflight(loaded.topology)
        except BaseException:
            lock.remove_on_exit = True  # refused before anything was made: leave no lock file
            raise
        plan_ = provider.plan(loaded.topology)
        planned = codec.encode(loaded.topology)
        state = ScenarioState(loaded.name, runtime, source=loaded.source, topology=planned)
        try:
            topology = provider.up(loaded.topology, plan_, state, with_crash_hook(progress),
                                   lambda: statefile.save(state))
            if topology is not loaded.topology:  # what the machine gave instead of the plan's
                state.topology = codec.encode(topology)
            state.phase = "up"
            statefile.save(state)
        except BaseException:
            provider.down(state, no_progress)
            statefile.forget(loaded.name)
            lock.remove_on_exit = True
            raise
    return Lab(state, topology)


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
    """The Lab of a scenario that is up (brought up by this or another process)."""
    state = statefile.load(name)
    if state is None:
        raise NoSuchScenario(f"no scenario named {name!r} is up" + known_names())
    if state.phase != "up":
        raise StateError(f"scenario {name!r} is not up (it is {state.phase!r}): "
                         f"run `kindscape down {name}`")
    return Lab(state)


def list_up() -> list[str]:
    """The names of the scenarios that have state on this machine (up, or left by a crash)."""
    return statefile.names()


def list_scenarios() -> list[dict[str, Any]]:
    """One record per scenario this machine has state for (`kindscape list -o json`):
    name, runtime, phase (up, or what a crash or a concurrent command left), the number of
    clusters, nodes, pods and hosts, and its age in seconds; null where unknown (a state
    file that cannot be read, or none left)."""
    import time
    found = []
    for name in statefile.names(leftovers=True):
        try:
            state = statefile.load(name)
            counts = _counts(state.topology) if state is not None else dict.fromkeys(_COUNTED)
        except StateError:
            state, counts = None, dict.fromkeys(_COUNTED)
            phase = "unreadable"
        else:
            phase = state.phase if state is not None else "leftover"
        found.append({"name": name, "runtime": state.runtime if state else None, "phase": phase, **counts,
                      "ageSeconds": round(time.time() - state.created, 1) if state is not None else None})
    return found


_COUNTED = ("clusters", "nodes", "pods", "hosts")


def _counts(topology: dict[str, Any]) -> dict[str, int]:
    """The sizes `list` shows, read from the state's topology without decoding it; one
    that does not have the shape this kindscape writes is damaged."""
    try:
        clusters = topology.get("clusters", [])
        nodes = [node for cluster in clusters for node in cluster.get("nodes", [])]
        return {"clusters": len(clusters), "nodes": len(nodes),
                "pods": sum(len(node.get("pods", [])) for node in nodes), "hosts": len(topology.get("hosts", []))}
    except (TypeError, AttributeError):
        raise StateError("its topology is damaged") from None


def status(name: str | None = None) -> dict[str, Any]:
    """One scenario's status, or {"scenarios": [...]} for every scenario that is up, and
    "notUp": the others this machine has state for (being made or removed, or left by a
    crash: `down` removes them), each {"name", "phase", "pid"}; a state file that cannot
    be read is listed with phase "unreadable" (one bad file does not hide the others)."""
    if name is not None:
        return attach(name).status()
    found, others = [], []
    for each in statefile.names():
        try:
            state = statefile.load(each)
            if state is not None and state.phase == "up":
                found.append(Lab(state).status())
                continue
        except StateError as exc:
            others.append({"name": each, "phase": "unreadable", "pid": None, "reason": str(exc)})
            continue
        if state is not None:  # else removed by a `down` meanwhile
            others.append({"name": each, "phase": state.phase, "pid": state.pid})
    return {"scenarios": found, "notUp": others}


def graph(source: "Scenario | str | os.PathLike", output: str | os.PathLike) -> Path:
    """Draw a scenario to `output` (.svg, .png or .dot, by its suffix) and return its path.

    `source` is a loaded Scenario or a scenario file (drawn with its planned addresses),
    or the name of a scenario that is up (drawn as its state recorded it).
    """
    from .render import graph as drawing
    drawing.output_format(output)  # refuse a bad file name before any work
    if isinstance(source, str) and _is_scenario_name(source):
        lab = attach(source)
        title = f"{lab.name}: up ({lab.state.runtime} runtime)"
        from .links import current
        topology, effects = lab.topology, drawing.link_effects(current(lab.state, lab.topology))
    else:
        loaded = _as_scenario(source)
        title = f"{loaded.name}: planned" + (f" from {loaded.source}" if loaded.source else "")
        from .links import Links
        topology, effects = loaded.topology, drawing.link_effects(Links(loaded.topology.impairments))
    return drawing.write(drawing.build(topology, title, effects), output)


def _is_scenario_name(text: str) -> bool:
    """A scenario name has no '/' or '.', so `multi-cluster` is a name and
    `multi-cluster.yaml` a file; an existing file of that name wins."""
    from .scenario.naming import SCENARIO_NAME_RE
    return bool(SCENARIO_NAME_RE.match(text)) and not os.path.isfile(text)
