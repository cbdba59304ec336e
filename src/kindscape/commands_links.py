"""The commands that change a running scenario's links: impair, partition, heal."""

from __future__ import annotations

from .cliargs import NAME, OUTPUT, Arg, command
from .commands import emit, guard, show

SIDE = Arg("a", "a cluster, node, host or network (kind:name when ambiguous)", metavar="A", complete="sides")
OTHER_SIDE = SIDE.with_(dest="b", metavar="B", help="the other side, as A")
SETTINGS = ("delay", "jitter", "loss", "duplicate", "corrupt", "reorder", "rate")
_SETTING_HELP = {
    "delay": "one-way delay, e.g. 50ms (needs netem)",
    "jitter": "delay variation, e.g. 5ms, with --delay (needs netem)",
    "loss": "packets dropped, e.g. 1%",
    "duplicate": "packets sent twice, e.g. 1% (needs netem)",
    "corrupt": "packets with a flipped bit, e.g. 0.1% (needs netem)",
    "reorder": "packets sent ahead of others, e.g. 25%, with --delay (needs netem)",
    "rate": "bandwidth limit, e.g. 10mbit",
}


@command("impair", "Set (or --clear) delay, loss, rate... between two sides of a scenario",
         NAME, SIDE, OTHER_SIDE,
         *(Arg(key, _SETTING_HELP[key], flags=(f"--{key}",), metavar="VALUE") for key in SETTINGS),
         Arg("clear", "remove the impairment between A and B", flags=("--clear",), flag=True),
         OUTPUT, root=True)
def impair(name: str, a: str, b: str, clear: bool, output: str, **given: str | None) -> None:
    with guard(output):
        from . import api
        from .errors import UsageError
        settings = {key: value for key, value in given.items() if value is not None}
        if clear == bool(settings):
            flags = ", ".join(f"--{key}" for key in SETTINGS)
            raise UsageError(f"give the settings ({flags}) or --clear, not both" if clear else
                             f"give at least one of {flags} (or --clear)")
        lab = api.attach(name)
        _links_changed(lambda progress: lab.impair(a, b, clear=clear, progress=progress, **settings), output)


@command("partition", "Cut all traffic between two sides of a scenario, until `heal`",
         NAME, SIDE, OTHER_SIDE, OUTPUT, root=True)
def partition(name: str, a: str, b: str, output: str) -> None:
    with guard(output):
        from . import api
        lab = api.attach(name)
        _links_changed(lambda progress: lab.partition(a, b, progress=progress), output)


@command("heal", "Restore the traffic `partition` cut between two sides",
         NAME, SIDE, OTHER_SIDE, OUTPUT, root=True)
def heal(name: str, a: str, b: str, output: str) -> None:
    with guard(output):
        from . import api
        lab = api.attach(name)
        _links_changed(lambda progress: lab.heal(a, b, progress=progress), output)


def _links_changed(change, output: str) -> None:
    from .progress import progress_printer
    with progress_printer() as progress:
        doc = change(progress)

    def table(doc: dict) -> None:
        from .render.link_tables import links_table
        shown = links_table(doc)
        show(shown if shown is not None else f"{doc['name']}: no impairments or partitions")
    emit({"ok": True, **doc} if output != "table" else doc, output, table)
