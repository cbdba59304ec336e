"""The fast path of the command line: the plain command lines scripts run (`status`,
`check NAME -o json`, `up FILE`, `down NAME`...) parsed straight from each command's one
declaration (cliargs.py), without argparse.

Why: argparse, and building a command's parser, cost ~30M instructions (~5 ms) of every
start, more than `status` has left for its own work. Only what is plainly one meaning is
taken here: a known command, its declared options spelt out in full (`-o json`,
`--output json`, `--output=json`, flags), a value of the declared choices and type, and
single positionals. Anything else - help, a `--`, an abbreviated or repeated option, a
value that does not convert, a missing or extra argument, commands with lists of
positionals - goes to argparse (cliparser.py), which takes or reports it as ever.
tests/unit/test_cli_parse.py holds the two to the same result.
"""

from __future__ import annotations

from typing import Any

from .cliargs import COMMANDS, VERBOSE, Arg, Command, load_commands

_REFUSED = object()  # a value only argparse may judge


def parse(argv: list[str]) -> tuple[Command, dict[str, Any]] | None:
    """The command and its function's keyword arguments (and `__verbose`), or None when
    argparse must decide."""
    load_commands()
    spec = COMMANDS.get(argv[0]) if argv else None
    if spec is None or any(arg.nargs not in (None, "?") for arg in spec.args if not arg.flags):
        return None
    options = {flag: arg for arg in (*spec.args, VERBOSE) for flag in arg.flags}
    given: dict[str, Any] = {}
    positionals: list[str] = []
    words = iter(argv[1:])
    for word in words:
        if word == "-" or not word.startswith("-"):
            positionals.append(word)
            continue
        flag, equals, value = word.partition("=")
        arg = options.get(flag)
        if arg is None or arg.dest in given or (arg.flag and equals):
            return None
        if not arg.flag and not equals:
            value = next(words, None)
            if value is None or value.startswith("-"):  # argparse's to judge
                return None
        taken = True if arg.flag else _value(arg, value)
        if taken is _REFUSED:
            return None
        given[arg.dest] = taken
    if not _place(spec, positionals, given):
        return None
    values = {arg.dest: given[arg.dest] if arg.dest in given else _default(arg) for arg in spec.args}
    return spec, {**values, "__verbose": given.get(VERBOSE.dest, False)}


def _value(arg: Arg, value: str) -> Any:
    """A value as argparse gives it, or _REFUSED when argparse must judge it."""
    if arg.choices is not None and value not in arg.choices:
        return _REFUSED
    if arg.type is None:
        return value
    try:
        return arg.type(value)
    except Exception:  # argparse reports it (its message, exit 2)
        return _REFUSED


def _place(spec: Command, positionals: list[str], given: dict[str, Any]) -> bool:
    """Give the positionals to the declared ones in order: False when they do not fit."""
    declared = [arg for arg in spec.args if not arg.flags]
    required = [arg for arg in declared if arg.nargs is None]
    if not len(required) <= len(positionals) <= len(declared) or declared[:len(required)] != required:
        return False
    for arg, value in zip(declared, positionals):
        given[arg.dest] = _value(arg, value)
    return not any(value is _REFUSED for value in given.values())


def _default(arg: Arg) -> Any:
    if arg.flag:
        return False
    # argparse converts a default given as text with the argument's type
    return arg.type(arg.default) if arg.type is not None and isinstance(arg.default, str) else arg.default


def main() -> None:
    """The console script's entry point of installs made when it was this module's (before
    cli.main); they still start through here until reinstalled."""
    from .cli import main as cli_main
    cli_main()
