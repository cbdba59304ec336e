"""Each command's arguments, declared once: the parsers (quickcli.py for plain command
lines, argparse in cliparser.py for the rest), `--help`, shell completion and the Python
function it calls are all built from the declarations here (one `@command` per command,
in the commands* modules).

Why argparse, not typer: typer costs ~40 ms of import and validates every parameter
through pydantic on each call (~0.12 s), more than `check` or `down` of a small scenario
take; argparse is in the standard library and imports in a few milliseconds. It also
exits 2 on a usage error, as the contract asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse  # imported by cliparser.py, only when quickcli.py leaves a command line to it

# What a positional argument completes to (completion.py): scenarios with state, a
# scenario's single endpoints, its groups (several endpoints), its link sides, files, its
# expectation sets (or files).
COMPLETIONS = ("names", "endpoints", "groups", "sides", "files", "names-or-files", "sets-or-files")


@dataclass(frozen=True)
class Arg:
    """One argument: a positional (no flags) or an option (flags such as ("-o", "--output"))."""

    dest: str  # the command function's parameter
    help: str
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    nargs: str | None = None  # "?", "*", "+" or argparse.REMAINDER
    flag: bool = False  # an option without a value (store_true)
    complete: str | None = None  # one of COMPLETIONS

    def with_(self, **changes: Any) -> "Arg":
        return replace(self, **changes)

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.flag:
            parser.add_argument(*self.flags, dest=self.dest, action="store_true", help=self.help)
            return
        shown = self.default not in (None, [], "table", "text") and self.flags
        extra: dict[str, Any] = {"help": self.help + (" (default: %(default)s)" if shown else ""),
                                 "metavar": self.metavar}
        if self.nargs is not None:
            extra["nargs"] = self.nargs
        if self.type is not None:
            extra["type"] = self.type
        if self.choices is not None:
            extra["choices"] = self.choices
            extra["metavar"] = self.metavar or "|".join(self.choices)
        if self.flags:
            parser.add_argument(*self.flags, dest=self.dest, default=self.default, **extra)
        else:
            if self.nargs in ("?", "*"):
                extra["default"] = self.default
            parser.add_argument(self.dest, **extra)


@dataclass(frozen=True)
class Command:
    name: str
    function: Callable[..., None]
    summary: str  # one line, in the command list
    args: tuple[Arg, ...]
    details: str = ""  # more paragraphs for `COMMAND --help`
    root: bool = False  # needs root (said in the list and in its help)


COMMANDS: dict[str, Command] = {}


def load_commands() -> None:
    """Register every command (their modules declare them when imported)."""
    from . import commands, commands_links, commands_run, commands_tools  # noqa: F401


def command(name: str, summary: str, *args: Arg, details: str = "", root: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declare a command: its name, one-line summary, arguments; the decorated function
    receives one keyword argument per Arg (its `dest`)."""
    def register(function: Callable[..., None]) -> Callable[..., None]:
        COMMANDS[name] = Command(name, function, summary, args, details, root)
        return function
    return register


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise _usage_error(f"must be at least 1 (got {text})")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise _usage_error(f"must be a positive number of seconds (got {text})")
    return value


def _usage_error(message: str) -> Exception:
    """What argparse reports with this message (quickcli leaves any failed value to it)."""
    import argparse
    return argparse.ArgumentTypeError(message)


# Arguments several commands share (each still declared once, here).
OUTPUT = Arg("output", "table for people; json or yaml (the same document) for scripts",
             flags=("-o", "--output"), default="table", choices=("table", "json", "yaml"))
RUNTIME = Arg("runtime", "netns (namespaces, the default) or kind (real KIND clusters in Docker)",
              flags=("-r", "--runtime"), default="netns", choices=("netns", "kind"))
NAME = Arg("name", "a scenario that is up (see `kindscape list`)", metavar="NAME", complete="names")
FILE = Arg("file", "a scenario file, or - for standard input", metavar="FILE", complete="files")
RENAME = Arg("rename", "run the scenario under this name instead of the file's `name` "
             "(the same file twice side by side)", flags=("--name",), metavar="NAME")
ALLOW_OUTSIDE = Arg("allow_outside_files", "read files the scenario references (configFile, NetworkPolicy "
                    "files) also outside its directory tree", flags=("--allow-outside-files",), flag=True)
VERBOSE = Arg("verbose", "log every external command and kernel batch, with timings, on stderr",
              flags=("-v", "--verbose"), flag=True)
