"""The command line: a thin layer over `kindscape.api`. Imports are lazy so that every
command starts fast; errors meant for users are printed without a traceback."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from . import commands
from .commands import Output, PlanOutput, RuntimeName, console as _console, guard as _guard, print_json as _print_json

app = typer.Typer(
    name="kindscape",
    help="Multi-cluster KIND network scenarios from one file: up, check, down.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for scripts")]
RuntimeOpt = Annotated[RuntimeName, typer.Option("--runtime", "-r", help="netns (default) or kind")]


def _complete_names(incomplete: str) -> list[str]:
    from .completion import scenario_names
    return scenario_names(incomplete)


def _complete_endpoints(ctx: typer.Context, incomplete: str) -> list[str]:
    from .completion import endpoints
    return endpoints(ctx, incomplete)


NameArg = Annotated[str, typer.Argument(help="a scenario that is up", autocompletion=_complete_names)]


@app.command()
def validate(file: str, output: OutputOpt = Output.table) -> None:
    """Check a scenario file; creates nothing. Exit 0 when valid, 1 when not."""
    with _guard(output):
        from .scenario import load
        scenario = load(file)
        topo = scenario.topology
        summary = {"ok": True, "name": scenario.name, "clusters": len(topo.clusters),
                   "nodes": len(topo.nodes), "pods": len(topo.pods), "hosts": len(topo.hosts),
                   "networks": len(topo.networks), "expectations": len(topo.expectations),
                   "warnings": [w.to_json() for w in scenario.warnings]}
        for warning in scenario.warnings:  # allowed, but probably not what was meant
            print(f"warning: {warning.render()}", file=sys.stderr)
        if output is Output.json:
            _print_json(summary)
        else:
            print(f"{file}: valid scenario {scenario.name!r}: {summary['clusters']} clusters, "
                  f"{summary['nodes']} nodes, {summary['pods']} pods, {summary['hosts']} hosts, "
                  f"{summary['networks']} networks")


@app.command()
def trace(name: str,
          source: Annotated[str, typer.Argument(metavar="FROM", help="pod, node, host, docker-host or an address")],
          target: Annotated[str, typer.Argument(metavar="TO", help="pod, node, host, docker-host, Service or an address")],
          port: Annotated[Optional[int], typer.Option("--port", "-p", help="TCP port (default: 8080, a Service's port)")] = None,
          output: OutputOpt = Output.table) -> None:
    """The path a new connection takes, hop by hop and back; exit 0 when delivered both ways."""
    with _guard(output):
        from . import api
        report = api.attach(name).trace(source, target, port=port)
        if output is Output.json:
            _print_json(report.to_json())
        else:
            from .render.trace import trace_view
            _console().print(trace_view(report))
        raise typer.Exit(0 if report.ok else 1)


@app.command()
def plan(file: str, runtime: RuntimeOpt = RuntimeName.netns,
         output: Annotated[PlanOutput, typer.Option("--output", "-o")] = PlanOutput.text) -> None:
    """Print what `up` would do, as the equivalent ip/nft (or docker/kind) commands."""
    with _guard(Output.json if output is PlanOutput.json else Output.table):
        from . import api
        from .plan import render
        steps = api.plan(file, runtime.value)
        if output is PlanOutput.json:
            _print_json(render.to_json(steps))
        else:
            sys.stdout.write(render.script(steps))


@app.command()
def up(file: str, runtime: RuntimeOpt = RuntimeName.netns, output: OutputOpt = Output.table) -> None:
    """Create the scenario (progress on stderr); on failure or Ctrl-C, remove what was made."""
    commands.up(file, runtime, output)


@app.command()
def check(name: NameArg, all: Annotated[bool, typer.Option("--all", help="probe every pod, node and host to every pod and host")] = False,
          timeout: Annotated[float, typer.Option(help="seconds before a probe counts as unreachable")] = 1.0,
          measure: Annotated[bool, typer.Option("--measure", help="a burst of probes per pair: loss and RTT spread")] = False,
          probes: Annotated[int, typer.Option(help="probes per pair with --measure", min=1, max=200)] = 20,
          explain: Annotated[bool, typer.Option("--explain", help="one line per failed expectation saying why (from trace)")] = False,
          output: OutputOpt = Output.table) -> None:
    """Probe who reaches whom; exit 0 when every expectation is met, 1 otherwise."""
    commands.check(name, all, timeout, measure, probes, explain, output)


@app.command()
def status(name: Annotated[Optional[str], typer.Argument(autocompletion=_complete_names)] = None, output: OutputOpt = Output.table) -> None:
    """Scenarios that are up: clusters, nodes, pods, hosts, addresses."""
    commands.status(name, output)


@app.command(context_settings={"allow_interspersed_args": False})
def exec(name: NameArg,
         endpoint: Annotated[str, typer.Argument(autocompletion=_complete_endpoints)], command: Annotated[list[str], typer.Argument(help="the command, after --")]) -> None:
    """Run a command inside a node, pod, host or docker-host: kindscape exec NAME EP -- CMD..."""
    with _guard():
        from . import api
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            raise typer.BadParameter("give the command after --, e.g. -- ip route")
        done = api.attach(name).exec(endpoint, command, capture=False)
        raise typer.Exit(done.returncode)


SettingOpt = Annotated[Optional[str], typer.Option(show_default=False)]
SideArg = Annotated[str, typer.Argument(help="a cluster, node, host or network (kind:name when ambiguous)")]


@app.command()
def impair(name: str, a: SideArg, b: SideArg,
           delay: Annotated[Optional[str], typer.Option(help="e.g. 50ms (needs netem)")] = None,
           jitter: Annotated[Optional[str], typer.Option(help="e.g. 5ms, with --delay (needs netem)")] = None,
           loss: Annotated[Optional[str], typer.Option(help="e.g. 1%")] = None,
           duplicate: SettingOpt = None, corrupt: SettingOpt = None, reorder: SettingOpt = None,
           rate: Annotated[Optional[str], typer.Option(help="e.g. 10mbit")] = None,
           clear: Annotated[bool, typer.Option("--clear", help="remove the impairment between A and B")] = False,
           output: OutputOpt = Output.table) -> None:
    """Set the impairment between two sides of a running scenario (both directions), or --clear it."""
    with _guard(output):
        from . import api
        from .errors import KindscapeError
        settings = {key: value for key, value in (("delay", delay), ("jitter", jitter), ("loss", loss),
                                                  ("duplicate", duplicate), ("corrupt", corrupt),
                                                  ("reorder", reorder), ("rate", rate)) if value is not None}
        if clear == bool(settings):
            raise KindscapeError("give the settings (--delay, --jitter, --loss, --duplicate, --corrupt, "
                                 "--reorder, --rate) or --clear, not both" if clear else
                                 "give at least one of --delay, --jitter, --loss, --duplicate, --corrupt, "
                                 "--reorder, --rate (or --clear)")
        lab = api.attach(name)
        _links_changed(lambda progress: lab.impair(a, b, clear=clear, progress=progress, **settings), output)


@app.command()
def partition(name: str, a: SideArg, b: SideArg, output: OutputOpt = Output.table) -> None:
    """Cut all traffic between two sides of a running scenario (fault injection) until `heal`."""
    with _guard(output):
        from . import api
        lab = api.attach(name)
        _links_changed(lambda progress: lab.partition(a, b, progress=progress), output)


@app.command()
def heal(name: str, a: SideArg, b: SideArg, output: OutputOpt = Output.table) -> None:
    """Restore the traffic between two sides that `partition` cut."""
    with _guard(output):
        from . import api
        lab = api.attach(name)
        _links_changed(lambda progress: lab.heal(a, b, progress=progress), output)


def _links_changed(change, output: Output) -> None:
    from .progress import progress_printer
    with progress_printer() as progress:
        doc = change(progress)
    if output is Output.json:
        _print_json({"ok": True, **doc})
        return
    from .render.links import links_table
    table = links_table(doc)
    _console().print(table if table is not None else f"{doc['name']}: no impairments or partitions")


@app.command()
def down(name: Annotated[Optional[str], typer.Argument(help="a scenario that is up",
                                                         autocompletion=_complete_names)] = None,
         all: Annotated[bool, typer.Option("--all", help="every scenario this machine has state for")] = False,
         output: OutputOpt = Output.table) -> None:
    """Remove everything the scenario created, even after a crash of `up` (--all: every scenario)."""
    commands.down(name, all, output)


@app.command()
def graph(source: Annotated[str, typer.Argument(metavar="NAME|FILE", help="a scenario that is up, or a scenario file",
                                               autocompletion=_complete_names)],
          output: Annotated[str, typer.Option("--output", "-o", metavar="FILE.svg|.png|.dot",
                                              help="the picture to write; its suffix picks the format")]) -> None:
    """Draw the scenario: networks, clusters, nodes, pods, hosts, interconnects, Services."""
    with _guard():
        from . import api
        written = api.graph(source, output)
        sys.stderr.write(f"graph: wrote {written}\n")


@app.command()
def schema(path: Annotated[bool, typer.Option("--path", help="print where the installed schema file is instead")] = False) -> None:
    """Print the JSON Schema of the scenario file, for editors: kindscape schema > kindscape.schema.json"""
    from .scenario import editor_schema
    if path:
        print(editor_schema.SHIPPED)
        return
    sys.stdout.write(editor_schema.schema_text())


def _version(value: bool) -> None:
    if value:
        from . import __version__  # the running code's version (pyproject reads it too)
        print(f"kindscape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    """kindscape: KIND network scenarios, declared in one file."""


def main() -> None:
    from .quickcli import main as quick_main  # the console script's entry (kept for old scripts)
    quick_main()


if __name__ == "__main__":
    main()
