"""What the commands do, without typer: the output helpers every command shares, and the
commands scripts run most - `up`, `check`, `down`, `status` - which the fast path
(quickcli.py) calls directly and the typer app (cli.py) wraps, so that those commands
never import typer (~40 ms of every start). Exit codes leave as SystemExit, which typer
passes through unchanged."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Any, Optional


class Output(str, Enum):
    table = "table"
    json = "json"


class PlanOutput(str, Enum):
    text = "text"
    json = "json"


class RuntimeName(str, Enum):
    netns = "netns"
    kind = "kind"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def console(stderr: bool = False):
    import os

    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    # On a terminal rich uses its width; into a pipe or a CI log, 80 columns would cut
    # names and addresses, so a wide page is used unless COLUMNS says otherwise.
    width = None if stream.isatty() or "COLUMNS" in os.environ else 160
    return Console(stderr=stderr, highlight=False, width=width)


def fail(exc: Exception, output: Output = Output.table) -> None:
    from .errors import ScenarioError
    if output is Output.json:
        payload: dict[str, Any] = {"ok": False, "error": str(exc)}
        if isinstance(exc, ScenarioError):
            payload["problems"] = [p.to_json() for p in exc.problems]
        print_json(payload)
    else:
        sys.stderr.write(f"error: {exc}\n")
    raise SystemExit(getattr(exc, "exit_code", 1))


def guard(output: Output = Output.table):
    """Turn kindscape's user errors (and Ctrl-C) into a message and an exit code."""
    from .errors import KindscapeError

    class Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if isinstance(exc, KindscapeError):
                fail(exc, output)
            if isinstance(exc, KeyboardInterrupt):
                sys.stderr.write("interrupted\n")
                raise SystemExit(130)
            return False
    return Guard()


def up(file: str, runtime: RuntimeName = RuntimeName.netns, output: Output = Output.table) -> None:
    with guard(output):
        from . import api
        from .progress import progress_printer
        with progress_printer() as progress:
            lab = api.up(file, runtime.value, progress)
        doc = lab.status()
        if output is Output.json:
            print_json(doc)
        else:
            from .render.tables import status_view
            console().print(status_view(doc))
            print(f"up: check it with `kindscape check {lab.name}`, remove it with `kindscape down {lab.name}`")


def check(name: str, all: bool = False, timeout: float = 1.0, measure: bool = False, probes: int = 20,
          explain: bool = False, output: Output = Output.table) -> None:
    with guard(output):
        from . import api
        from .progress import progress_printer
        lab = api.attach(name)
        with progress_printer() as progress:
            report = lab.check(all=all, timeout=timeout, measure=probes if measure else 0, progress=progress)
        if explain:
            lab.explain(report)
        if output is Output.json:
            print_json(report.to_json())
        else:
            from .render.tables import check_view
            console().print(check_view(report))
        raise SystemExit(0 if report.ok else 1)


def status(name: Optional[str] = None, output: Output = Output.table) -> None:
    with guard(output):
        from . import api
        doc = api.status(name)
        if output is Output.json:
            print_json(doc)
            return
        from .render.tables import status_view
        docs = [doc] if name else doc["scenarios"]
        if not docs:
            print("no scenarios are up")
        for each in docs:
            console().print(status_view(each))
        for other in doc.get("notUp", []) if not name else []:
            if other["phase"] == "unreadable":
                print(f"{other['name']}: {other['reason']}")
                continue
            print(f"{other['name']}: not up (state {other['phase']}, pid {other['pid']}): "
                  f"being made or removed, or left by a crash; `kindscape down {other['name']}` removes it")


def down(name: Optional[str] = None, all: bool = False, output: Output = Output.table, force: bool = False) -> None:
    with guard(output):
        from . import api
        from .errors import KindscapeError
        from .progress import progress_printer
        if (name is None) == (not all):
            raise KindscapeError("give the name of a scenario, or --all (not both)")
        with progress_printer() as progress:
            if name is not None:
                removed, failed = {name: api.down(name, progress, force=force)}, {}
            else:
                removed, failed = api.down_all(progress, force=force)
        _print_down(removed, failed, output, single=name is not None)
        if failed:
            raise SystemExit(1)


def _print_down(removed: dict[str, list[str]], failed: dict[str, str], output: Output, single: bool) -> None:
    if output is Output.json:
        if single:
            [(name, objects)] = removed.items()
            print_json({"ok": True, "name": name, "removed": objects})
        else:
            print_json({"ok": not failed, "scenarios": [{"name": n, "removed": r} for n, r in removed.items()],
                        "failed": [{"name": n, "error": e} for n, e in failed.items()]})
        return
    for name, objects in removed.items():
        print(f"down: {name} removed ({len(objects)} objects)")
    for name, error in failed.items():
        sys.stderr.write(f"down: {name}: {error}\n")
    if not single and not removed and not failed:
        print("down --all: no scenario has state on this machine")
