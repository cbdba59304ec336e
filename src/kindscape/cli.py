"""The `kindscape` console script: parses argv from the commands' declarations
(cliargs.py) - the plain command lines scripts run on the fast path (quickcli.py), the
rest by argparse (cliparser.py) - and calls the command's function. Commands import what
they need when they run, so every command starts fast; errors meant for users are
printed without a traceback, with the contract's exit status (0, 1 "no", 2 usage, 3
failure)."""

from __future__ import annotations

import sys

from . import quickcli
from .cliargs import Command


def parse(argv: list[str]) -> tuple[Command, dict] | None:
    """The command and its function's keyword arguments (and `__verbose`); None when there
    is no command (--version, or nothing given: help). Usage errors exit 2."""
    plain = quickcli.parse(argv)
    if plain is not None:
        return plain
    from . import cliparser  # argparse: help, errors, and what the fast path does not take
    return cliparser.parse(argv)


def _log_runs_to_stderr() -> None:
    """`-v`: the log of every external command and kernel batch (the logger
    "kindscape.run", at DEBUG) on standard error, one line each."""
    import logging
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("kindscape.run")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)


def main(argv: list[str] | None = None) -> None:
    """The console script's entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["__complete"]:
        from .completion import complete_command
        raise SystemExit(complete_command(args[1:]))
    parsed = parse(args)
    if parsed is None:
        raise SystemExit(0)
    spec, values = parsed
    if values.pop("__verbose"):
        _log_runs_to_stderr()
    spec.function(**values)
    raise SystemExit(0)


if __name__ == "__main__":
    main()
