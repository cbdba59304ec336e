"""A fast path for the commands scripts run most - `up`, `check`, `down`, `status` - with
their arguments parsed here, then handed to the very functions the typer app runs
(commands.py), without importing typer.

Why: typer (0.2x) validates each parameter through a pydantic TypeAdapter that it
builds on every invocation; importing pydantic and building them costs ~0.12 s, more
than the seed example's `check` or `down` take, and importing typer itself ~0.04 s. Anything not matched exactly here
(help, other commands, unknown or repeated options, values that do not convert) goes
to typer, which handles and reports it as usual. tests/unit/test_quickcli.py holds both
parsers to the same result.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

OUTPUT = {"-o": "output", "--output": "output"}


@dataclass(frozen=True)
class Spec:
    positional: tuple[str, ...] = ()  # required, in order
    optional: tuple[str, ...] = ()  # positionals that may follow
    options: dict[str, str] = field(default_factory=dict)  # option -> parameter taking a value
    flags: dict[str, str] = field(default_factory=dict)  # option -> boolean parameter


SPECS = {
    "up": Spec(("file",), options={**OUTPUT, "-r": "runtime", "--runtime": "runtime"}),
    # --probes (an int with a range) is left to typer, which checks and reports its range.
    "check": Spec(("name",), options={**OUTPUT, "--timeout": "timeout"},
                  flags={"--all": "all", "--measure": "measure", "--explain": "explain"}),
    "down": Spec(optional=("name",), options=OUTPUT, flags={"--all": "all", "--force": "force"}),
    "status": Spec(optional=("name",), options=OUTPUT),
}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, raw parameter values), or None when typer should handle argv."""
    if not argv or argv[0] not in SPECS:
        return None
    spec = SPECS[argv[0]]
    values: dict[str, Any] = {}
    positionals: list[str] = []
    rest = iter(argv[1:])
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            continue
        name, equals, value = arg.partition("=")
        if name in spec.flags and not equals and spec.flags[name] not in values:
            values[spec.flags[name]] = True
        elif name in spec.options and spec.options[name] not in values:
            value = value if equals else next(rest, None)
            if value is None:
                return None
            values[spec.options[name]] = value
        else:
            return None
    names = spec.positional + spec.optional
    if not len(spec.positional) <= len(positionals) <= len(names):
        return None
    values.update(zip(names, positionals))
    return argv[0], values


def _converted(function, raw: dict[str, Any]) -> dict[str, Any] | None:
    """Values of the types the command's defaults have (enums, floats); None if one fails."""
    parameters = inspect.signature(function).parameters
    found = {}
    for name, value in raw.items():
        default = parameters[name].default
        try:
            if isinstance(default, Enum):
                value = type(default)(value)
            elif isinstance(default, float):
                value = float(value)
        except ValueError:
            return None
        found[name] = value
    return found


def run(argv: list[str]) -> int | None:
    """Run argv on the fast path: its exit status, or None when typer must run it."""
    parsed = parse(argv)
    if parsed is None:
        return None
    from . import commands
    function = getattr(commands, parsed[0])
    values = _converted(function, parsed[1])
    if values is None:
        return None
    try:
        function(**values)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0


def main() -> None:
    """The `kindscape` console script: the fast path when it applies, typer otherwise
    (typer is imported only then)."""
    import sys
    code = run(sys.argv[1:])
    if code is None:
        from .cli import app
        app()
    else:
        raise SystemExit(code)
