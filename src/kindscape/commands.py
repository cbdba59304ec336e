"""The commands of a scenario's life - validate, plan, up, check, status, list, down - and
the output helpers every command shares. Each command is declared once (cliargs.py);
its body imports what it needs when it runs, so the console script starts fast."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from .cliargs import ALLOW_OUTSIDE, FILE, NAME, OUTPUT, RENAME, RUNTIME, Arg, command, positive_float, positive_int


def print_json(data: Any) -> None:
    from .render import jsontext  # json.dumps(data, indent=2)'s text, faster
    sys.stdout.write(jsontext.dumps(data) + "\n")


def print_doc(data: Any, output: str) -> None:
    """A document for scripts: JSON, or the same content as YAML."""
    if output == "yaml":
        import yaml
        plain = json.loads(json.dumps(data))  # the JSON document's content exactly (str subclasses as str)
        sys.stdout.write(yaml.safe_dump(plain, sort_keys=False, default_flow_style=False, allow_unicode=True))
    else:
        print_json(data)


def emit(data: Any, output: str, table: Callable[[Any], None]) -> None:
    """`data` as the document -o asks for, or as the table `table(data)` prints."""
    if output == "table":
        table(data)
    else:
        print_doc(data, output)


def console(stderr: bool = False):
    import os

    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    # On a terminal rich uses its width; into a pipe or a CI log nothing is wrapped (one
    # record per line, copy-paste commands whole) unless COLUMNS asks for a width.
    if stream.isatty() or "COLUMNS" in os.environ:
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, width=100_000, soft_wrap=True)


def show(view: Any) -> None:
    """A view of render/view.py for people: rich's on a terminal, plain text into a pipe
    (the same text, without importing rich)."""
    from .render.view import Text, plain, to_rich, wants_rich
    if isinstance(view, str):
        view = Text(view)
    if wants_rich(sys.stdout):
        console().print(to_rich(view))
    else:
        sys.stdout.write(plain(view))


def fail(exc: Exception, output: str = "table") -> None:
    """A user error: a document on stdout in json/yaml mode, a line on stderr otherwise;
    the exit status is the error's (1 invalid file, 2 usage, 3 anything else)."""
    from .errors import ScenarioError
    if output in ("json", "yaml"):
        payload: dict[str, Any] = {"ok": False, "error": str(exc)}
        if isinstance(exc, ScenarioError):
            payload["problems"] = [p.to_json() for p in exc.problems]
        print_doc(payload, output)
    else:
        sys.stderr.write(f"error: {exc}\n")
    raise SystemExit(getattr(exc, "exit_code", 3))


class guard:
    """Turn kindscape's user errors (and Ctrl-C) into a message and an exit status."""

    def __init__(self, output: str = "table"):
        self.output = output

    def __enter__(self) -> "guard":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        from .errors import KindscapeError
        if isinstance(exc, KindscapeError):
            fail(exc, self.output)
        if isinstance(exc, KeyboardInterrupt):
            sys.stderr.write("interrupted\n")
            raise SystemExit(130)
        if isinstance(exc, BrokenPipeError):  # `kindscape ... | head`: the reader left
            sys.stderr.close()
            raise SystemExit(0)
        return False


def load_scenario(file: str, name: str | None = None, allow_outside_files: bool = False):
    """A scenario file, or standard input for `-`, under `name` when given."""
    from . import api
    return api.load(file, name=name, allow_outside_files=allow_outside_files)


@command("validate", "Check scenario files; create nothing (exit 1 if one is invalid)",
         FILE.with_(dest="files", nargs="+", metavar="FILE", help="scenario files, or - for standard input"),
         OUTPUT, ALLOW_OUTSIDE)
def validate(files: list[str], output: str, allow_outside_files: bool) -> None:
    from .errors import KindscapeError
    docs = []
    with guard(output):
        for file in files:
            try:
                docs.append(_validated(file, allow_outside_files))
            except KindscapeError as exc:
                if len(files) == 1:
                    raise
                docs.append({"ok": False, "file": file, "error": str(exc),
                             "problems": [p.to_json() for p in getattr(exc, "problems", [])]})
    for doc in docs if output == "table" else []:
        if doc["ok"]:
            print(f"{doc['file']}: valid scenario {doc['name']!r}: {doc['clusters']} clusters, {doc['nodes']} "
                  f"nodes, {doc['pods']} pods, {doc['hosts']} hosts, {doc['networks']} networks")
        else:
            sys.stderr.write(f"error: {doc['error']}\n")
    ok = all(doc["ok"] for doc in docs)
    if output != "table":
        print_doc(docs[0] if len(files) == 1 else {"ok": ok, "files": docs}, output)
    raise SystemExit(0 if ok else 1)


def _validated(file: str, allow_outside_files: bool) -> dict[str, Any]:
    scenario = load_scenario(file, allow_outside_files=allow_outside_files)
    for warning in scenario.warnings:  # allowed, but probably not what was meant
        sys.stderr.write(f"warning: {warning.render()}\n")
    topo = scenario.topology
    return {"ok": True, "file": file, "name": scenario.name, "clusters": len(topo.clusters),
            "nodes": len(topo.nodes), "pods": len(topo.pods), "hosts": len(topo.hosts),
            "networks": len(topo.networks), "expectations": len(topo.expectations),
            "warnings": [w.to_json() for w in scenario.warnings]}


@command("plan", "Print the ip/nft (or docker/kind/kubectl) commands `up` would run",
         FILE, RUNTIME, RENAME,
         OUTPUT.with_(default="text", choices=("text", "json", "yaml"),
                      help="text: the commands, as a script; json or yaml: the operations"), ALLOW_OUTSIDE,
         details="Pure: creates nothing and needs no root.")
def plan(file: str, runtime: str, rename: str | None, output: str, allow_outside_files: bool) -> None:
    with guard("table" if output == "text" else output):
        from . import api
        steps = api.plan(load_scenario(file, rename, allow_outside_files), runtime)
        renderer = api.get_runtime(runtime)  # each runtime renders its own operations
        if output == "text":
            sys.stdout.write(renderer.plan_script(steps))
        else:
            from .render.documents import camel_keys
            print_doc(camel_keys(renderer.plan_json(steps)), output)


@command("up", "Create a scenario from a file; on failure or Ctrl-C, remove what was made",
         FILE, RUNTIME, RENAME, OUTPUT, ALLOW_OUTSIDE, root=True,
         details="A scenario of the same name that is up is an error: take it down first, or use --name.")
def up(file: str, runtime: str, rename: str | None, output: str, allow_outside_files: bool) -> None:
    with guard(output):
        from . import api
        from .progress import progress_printer
        from .scenario import cache
        scenario = cache.load(file, rename, allow_outside_files)  # a file validated before: its topology
        with progress_printer() as progress:
            lab = api.up(scenario, runtime, progress)
        doc = lab.status()

        def table(doc: dict) -> None:
            from .render.status_tables import status_view
            show(status_view(doc))
            print(f"up: check it with `kindscape check {lab.name}`, remove it with `kindscape down {lab.name}`")
        emit(doc, output, table)


@command("check", "Probe who reaches whom; exit 1 when an expectation is not met",
         NAME,
         Arg("all", "probe every pod, node and host to every pod and host", flags=("--all",), flag=True),
         Arg("timeout", "seconds before a probe counts as unreachable", flags=("--timeout",), default=1.0,
             type=positive_float, metavar="SECONDS"),
         Arg("measure", "a burst of probes per pair: loss, RTT spread and answers per backend",
             flags=("--measure",), flag=True),
         Arg("probes", "probes per pair with --measure (1-200)", flags=("--probes",), default=20,
             type=positive_int, metavar="N"),
         Arg("explain", "one line per failed expectation saying why (from trace)", flags=("--explain",), flag=True),
         Arg("expect", "verify this set instead of `expect`: a set of the file's `expectWhen`, or a file "
             "of expectations", flags=("--expect",), metavar="SET|FILE", complete="sets-or-files"),
         OUTPUT, root=True,
         details="Probes every pair an expectation names; with --all, or when the file has no expectations, "
                 "every pod, node and host to every pod and host. --expect SET verifies a set of the file's "
                 "expectWhen instead (e.g. partitioned-east-west after `kindscape partition`).\n"
                 "In the matrix a cell is reached/probed; `nat N`: N of the reached saw another source "
                 "address than the sender's (masqueraded).\n"
                 "Exit status: 0 every expectation met, 1 one not met, 3 the check could not run.")
def check(name: str, all: bool, timeout: float, measure: bool, probes: int, explain: bool, expect: str | None,
          output: str) -> None:
    with guard(output):
        from . import api
        from .errors import UsageError
        from .progress import progress_printer
        if probes > 200:
            raise UsageError(f"--probes: at most 200 (got {probes})")
        lab = api.attach(name)
        with progress_printer() as progress:
            report = lab.check(all=all, timeout=timeout, measure=probes if measure else 0, progress=progress,
                               expect=expect)
        if explain:
            lab.explain(report)

        def table(_doc: dict) -> None:
            from .render.tables import check_view
            show(check_view(report))
        emit(report.to_json() if output != "table" else None, output, table)
        raise SystemExit(0 if report.ok else 1)


@command("status", "Show scenarios that are up: clusters, nodes, pods, hosts, addresses",
         NAME.with_(nargs="?", help="a scenario that is up (default: every one)"), OUTPUT, root=True)
def status(name: str | None, output: str) -> None:
    with guard(output):
        from . import api
        doc = api.status(name)
        emit(doc, output, lambda doc: _status_table(doc, name))


def _status_table(doc: dict, name: str | None) -> None:
    from .render.status_tables import status_view
    docs = [doc] if name else doc["scenarios"]
    if not docs:
        print("no scenarios are up")
    for each in docs:
        show(status_view(each))
    for other in doc.get("notUp", []) if not name else []:
        if other["phase"] == "unreadable":
            print(f"{other['name']}: {other['reason']}")
            continue
        print(f"{other['name']}: not up (state {other['phase']}, pid {other['pid']}): "
              f"being made or removed, or left by a crash; `kindscape down {other['name']}` removes it")


@command("list", "List the scenarios on this machine, one line each", OUTPUT, root=True)
def list_(output: str) -> None:
    with guard(output):
        from . import api
        found = api.list_scenarios()
        emit({"scenarios": found}, output, lambda doc: _list_table(doc["scenarios"]))


def _list_table(found: list[dict]) -> None:
    if not found:
        print("no scenarios on this machine")
        return
    from .render.view import Table
    table = Table(boxed=False)
    for column in ("NAME", "RUNTIME", "PHASE", "CLUSTERS", "NODES", "PODS", "HOSTS", "AGE"):
        table.add_column(column, justify="right" if column in ("CLUSTERS", "NODES", "PODS", "HOSTS") else "left")
    for each in found:
        table.add_row(each["name"], each["runtime"] or "-", each["phase"],
                      *(str(each[key]) if each[key] is not None else "-"
                        for key in ("clusters", "nodes", "pods", "hosts")), _age(each["ageSeconds"]))
    show(table)


def _age(seconds: float | None) -> str:
    """kubectl's style: 45s, 12m, 3h, 2d."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


@command("down", "Remove everything a scenario created, even after a crash; 0 if not up",
         NAME.with_(nargs="?", help="a scenario (up, or what a crash left)"),
         Arg("all", "every scenario this machine has state for", flags=("--all",), flag=True),
         Arg("force", "when a state file is damaged or another kindscape version's: remove what carries "
             "the scenario's ownership marks (namespace names and marks, labels, its processes)",
             flags=("--force",), flag=True),
         OUTPUT, root=True,
         details="A scenario that is not up, with nothing left of it, is not an error: down says so and "
                 "exits 0 (as `kind delete cluster` does).")
def down(name: str | None, all: bool, force: bool, output: str) -> None:
    with guard(output):
        from . import removal  # api's down and down_all, without api's imports (the topology)
        from .errors import NoSuchScenario, UsageError
        from .progress import progress_printer
        if (name is None) == (not all):
            raise UsageError("give the name of a scenario, or --all (not both)")
        with progress_printer() as progress:
            if name is None:
                removed, failed = removal.down_all(progress, force=force)
            else:
                try:
                    removed, failed = {name: removal.down(name, progress, force=force)}, {}
                except NoSuchScenario:
                    removed, failed = {}, {}
        _print_down(name, removed, failed, output)
        if failed:
            raise SystemExit(3)


def _print_down(name: str | None, removed: dict[str, list[str]], failed: dict[str, str], output: str) -> None:
    if output != "table":
        if name is not None:
            print_doc({"ok": True, "name": name, "removed": removed.get(name, []), "wasUp": name in removed}, output)
        else:
            print_doc({"ok": not failed, "scenarios": [{"name": n, "removed": r} for n, r in removed.items()],
                       "failed": [{"name": n, "error": e} for n, e in failed.items()]}, output)
        return
    for each, objects in removed.items():
        print(f"down: {each} removed ({len(objects)} objects)")
    for each, error in failed.items():
        sys.stderr.write(f"down: {each}: {error}\n")
    if name is not None and name not in removed:
        print(f"down: no scenario named {name!r} is up, and nothing of it is left: nothing to do")
    if name is None and not removed and not failed:
        print("down --all: no scenario has state on this machine")
