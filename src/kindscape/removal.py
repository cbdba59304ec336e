"""Taking scenarios down: from the state file, or by the ownership marks of what a crash
left. Apart from api.py so that `kindscape down` imports nothing of the topology's types
(the public names are api's: `kindscape.down`, `kindscape.down_all`)."""

from __future__ import annotations

import os

from . import runtimes
from . import state as statefile
from .errors import KindscapeError, NoSuchScenario, PrivilegeError, StateError
from .progress import Progress, sink
from .state import ScenarioState


def known_names() -> str:
    """' (up: a, b)', naming the scenarios that are up, for a message about another."""
    names = statefile.names()
    return f" (up: {', '.join(names)})" if names else ""


def down(name: str, progress: Progress | None = None, runtime: str | None = None,
         force: bool = False) -> list[str]:
    """Remove everything of a scenario, from its state file or, without one, by its marks.
    A state file that is damaged or another version's is refused (StateUnreadable) unless
    `force`: then the scenario is removed by its ownership marks."""
    progress = sink(progress)
    with statefile.locked(name, wait=True) as lock:
        state = _recorded_or_found(name, runtime, force)
        if state is None:
            lock.remove_on_exit = True
            raise NoSuchScenario(f"no scenario named {name!r} is up, and nothing of it was found"
                             + known_names())
        recorded = os.path.isdir(statefile.scenario_dir(name))
        state.phase, previous = "removing", state.phase
        if recorded:
            statefile.save(state)
        try:
            removed = runtimes.provider(state.runtime).down(state, progress)
        except PrivilegeError:  # refused before removing anything: the scenario is as it was
            state.phase = previous
            if recorded:
                statefile.save(state)
            raise
        statefile.forget(name)
        lock.remove_on_exit = True
    return removed


def down_all(progress: Progress | None = None, force: bool = False) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Take down every scenario this machine has state for (up, or left by a crash of
    `up`, or what a killed `down` left): ({name: what was removed}, {name: why it could not
    be}). One failing does not stop the others; one another `down` removed meanwhile is
    left out."""
    removed: dict[str, list[str]] = {}
    failed: dict[str, str] = {}
    for name in statefile.names(leftovers=True):
        try:
            removed[name] = down(name, progress, force=force)
        except StateError as exc:
            if os.path.isdir(statefile.scenario_dir(name)):
                failed[name] = str(exc)
        except PrivilegeError:
            raise  # the same for every scenario: say it once
        except KindscapeError as exc:
            failed[name] = str(exc)
    return removed, failed


def _recorded_or_found(name: str, runtime: str | None, force: bool) -> ScenarioState | None:
    """The state file; without one (or, with `force`, without a readable one), what the
    scenario's marks find; or, when only a state directory is left (a `down` killed
    half-way), that directory."""
    try:
        state = statefile.load(name)
    except statefile.StateUnreadable:
        if not force:
            raise
        state = None  # damaged or another version's: removed by the marks
    if state is not None:
        return state
    found = _orphans(name, runtime)
    if found is None and os.path.isdir(statefile.scenario_dir(name)):
        found = ScenarioState(name, runtime or runtimes.NAMES[0], phase="orphaned")
    return found


def _orphans(name: str, runtime: str | None) -> ScenarioState | None:
    # kind first: its record in Docker is specific; a lone workload server is not.
    for candidate in ([runtime] if runtime else sorted(runtimes.NAMES, key=lambda r: r != "kind")):
        try:
            found = runtimes.provider(candidate).orphans(name)
        except PrivilegeError:
            raise
        except KindscapeError:
            continue
        if found is not None:
            return found
    return None
