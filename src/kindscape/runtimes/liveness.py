"""The scenario's own parts are watched (both runtimes: each runs the workload server
that answers every probe): before `check`, `trace` or `exec` uses the
scenario, its workload server must be alive, or every probe would report a refused
connection (a network verdict built on a dead process).

A dead server is restarted from its spec, which `up` left in the scenario's state
directory, under the scenario's lock (one restart however many commands find it dead);
when that cannot be done, the command is refused, saying what died and what to run."""

from __future__ import annotations

import json

from .. import state as statefile
from ..errors import KindscapeError, StateError
from ..linux import processes
from ..state import ScenarioState

class PartDied(StateError):
    """A part of the scenario died and could not be brought back (exit 3: not a 'no')."""

    exit_code = 3


def require_workloads(state: ScenarioState) -> None:
    """Return once every recorded server of the scenario is alive (restarting the dead
    ones); PartDied when one cannot be restarted."""
    if all(processes.alive(record) for record in state.processes):
        return
    with statefile.locked(state.name, wait=True):
        current = statefile.load(state.name)
        if current is None or current.phase != "up":
            raise PartDied(f"scenario {state.name!r} is being removed (its workload server is gone)")
        records = []
        for record in current.processes:
            records.append(record if processes.alive(record) else _restarted(current, record))
        current.processes = records
        statefile.save(current)
    state.processes = current.processes


def _restarted(state: ScenarioState, record: dict) -> dict:
    role, pid = record.get("role", "workloads"), record["pid"]
    died = f"the {role} server of scenario {state.name!r} (pid {pid}), which answers every probe, died"
    remedy = f"run `kindscape down {state.name}` and `kindscape up` it again"
    directory = statefile.scenario_dir(state.name)
    try:
        with open(processes.spec_path_of(directory, role)) as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        raise PartDied(f"{died}, and its spec is gone, so it cannot be restarted: {remedy}") from None
    try:
        fresh = processes.start_server(spec, directory, role)
    except KindscapeError as exc:
        raise PartDied(f"{died}, and restarting it failed ({exc}): {remedy}") from None
    import logging  # only here: importing it costs every command's start ~3 ms
    logging.getLogger("kindscape").warning("%s: restarted it (pid %s)", died, fresh["pid"])
    return fresh
