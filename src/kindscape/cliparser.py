"""The whole command line, by argparse, built from the commands' declarations
(cliargs.py): `--help` (kindscape's and each command's), usage errors (exit 2; a JSON or
YAML document on stdout when the command line asked for -o json or yaml), and every
command line the fast path (quickcli.py) leaves to it."""

from __future__ import annotations

import argparse
import textwrap

from .cliargs import COMMANDS, VERBOSE, Command, load_commands

# The order of `kindscape --help`: a scenario's life, then the tools.
LIFECYCLE = ("validate", "plan", "up", "check", "trace", "status", "list", "exec", "capture",
             "impair", "partition", "heal", "graph", "down", "schema", "completion")

ABOUT = """\
kindscape makes multi-cluster KIND network scenarios real on one Linux machine, from one
declarative file: clusters on Docker-style networks, routes between them, external hosts,
Services, impairments; then checks who reaches whom.

Usage:
  kindscape COMMAND [ARGS...] [-o table|json|yaml] [-v]"""
FOOTER = """\
(root): needs root: run it with sudo, or as it is from a root shell.
Exit status: 0 success; 1 the answer is no (invalid file, an expectation not met, not
delivered both ways); 2 a usage error; 3 anything else (no such scenario, no privileges,
a failure).

Example:
  kindscape up examples/multi-cluster.yaml && kindscape check multi-cluster

Use "kindscape COMMAND --help" for more about a command."""
WIDTH = 100


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=WIDTH)


class _Parser(argparse.ArgumentParser):
    """A usage error is a JSON (or YAML) document on stdout when the command line asked for
    -o json (or yaml), as every other error is; exit status 2 either way."""

    argv: list[str] = []

    def error(self, message: str):  # type: ignore[override]
        wanted = _document_output(self.argv)
        if wanted is None:
            super().error(message)
        from .commands import print_doc
        print_doc({"ok": False, "error": f"{self.prog}: {message}"}, wanted)
        raise SystemExit(2)


def _document_output(argv: list[str]) -> str | None:
    for at, word in enumerate(argv):
        value = argv[at + 1] if word in ("-o", "--output") and at + 1 < len(argv) else \
            word.partition("=")[2] if word.startswith("--output=") else word[2:] if word.startswith("-o") else None
        if value in ("json", "yaml"):
            return value
    return None


class _RootParser(_Parser):
    """`kindscape --help` as kind's and kubectl's read: what it is, the commands in the
    order of a scenario's life, one line each, then the flags."""

    def format_help(self) -> str:
        lines = [ABOUT, "", "Commands:"]
        for name in LIFECYCLE:
            spec = COMMANDS[name]
            lines.append(f"  {name:<11} {spec.summary}{' (root)' if spec.root else ''}")
        lines += ["", "Flags:", "  -h, --help      help for kindscape (COMMAND --help: for a command)",
                  f"  -v, --verbose   {VERBOSE.help}", "      --version   print the version", "", FOOTER]
        return "\n".join(lines) + "\n"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that command's part (what a run of it needs:
    building all sixteen costs a few milliseconds of every start)."""
    load_commands()
    parser = _RootParser(prog="kindscape", formatter_class=_Formatter, add_help=False)
    parser.add_argument("-h", "--help", action="help", help="show this help (or a command's: COMMAND --help)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    VERBOSE.add_to(parser)
    sub = parser.add_subparsers(dest="_command", metavar="COMMAND", title="commands",
                                parser_class=_Parser)
    for name in (only,) if only else LIFECYCLE:
        _add_command(sub, COMMANDS[name])
    return parser


def _add_command(sub, spec: Command) -> None:
    blocks = [spec.summary + ".", "\n".join(_wrapped(line) for line in spec.details.split("\n") if line)]
    if spec.root:
        blocks.append("Needs root: run it with sudo, or as it is from a root shell.")
    description = "\n\n".join(block for block in blocks if block)
    parser = sub.add_parser(spec.name, help=spec.summary, description=description, formatter_class=_Formatter)
    for arg in spec.args:
        arg.add_to(parser)
    # -v works after the command too; SUPPRESS keeps a -v given before it.
    parser.add_argument(*VERBOSE.flags, dest="verbose", action="store_true", default=argparse.SUPPRESS,
                        help=VERBOSE.help)


def _wrapped(line: str) -> str:
    return textwrap.fill(line, WIDTH - 2, subsequent_indent="  " if line.startswith("Example") else "")


def parse(argv: list[str]) -> tuple[Command, dict] | None:
    """The command and its function's keyword arguments; None when there is no command
    (--version, or nothing given: help). Usage errors exit 2 (argparse)."""
    load_commands()
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    _Parser.argv = argv
    namespace, extra = parser.parse_known_args(argv)
    _take_trailing(parser, namespace, extra)
    if namespace.version:
        from . import __version__
        print(f"kindscape {__version__}")
        return None
    if namespace._command is None:
        parser.print_help()
        raise SystemExit(2 if argv else 0)
    spec = COMMANDS[namespace._command]
    values = {arg.dest: getattr(namespace, arg.dest) for arg in spec.args}
    return spec, {**values, "__verbose": namespace.verbose}


def _take_trailing(parser: argparse.ArgumentParser, namespace: argparse.Namespace, extra: list[str]) -> None:
    """argparse gives a last `*` positional (capture's FILTER) nothing when options come
    between it and the other positionals; the words left over are its own."""
    spec = COMMANDS.get(getattr(namespace, "_command", None) or "")
    last = [arg for arg in spec.args if not arg.flags][-1:] if spec else []
    if not extra:
        return
    if not last or last[0].nargs != "*" or getattr(namespace, last[0].dest) or any(w.startswith("-") for w in extra):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    setattr(namespace, last[0].dest, extra)
