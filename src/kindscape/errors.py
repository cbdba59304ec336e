"""The errors kindscape raises for users: each says what is wrong and what would be right.

The CLI prints these without a traceback; anything else escaping is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class KindscapeError(Exception):
    """A user-facing error: the message is complete and meant to be printed as is.

    `exit_code` is the command line's exit status for it (the contract's): 3, something
    went wrong; subclasses that mean "the answer is no" (1) or a usage error (2) say so."""

    exit_code = 3


class UsageError(KindscapeError):
    """The command was given arguments that do not fit together (exit status 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, located by its path in the document."""

    path: str
    message: str
    value: Any = None
    hint: str | None = None
    line: int | None = None
    file: str | None = None

    def render(self) -> str:
        where = self.path or "(document)"
        if self.file and self.line:
            where = f"{self.file}:{self.line}: {where}"
        elif self.line:
            where = f"line {self.line}: {where}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.hint:
            text += f"; {self.hint}"
        return printable(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "message": self.message,
            "value": self.value if _jsonable(self.value) else repr(self.value),
            "hint": self.hint,
            "line": self.line,
            "file": self.file,
        }


def printable(text: str) -> str:
    """`text` with control characters escaped as Python writes them: a value from a file
    (in a message or a hint) cannot start a new line or drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


class ScenarioError(KindscapeError):
    """A scenario file that cannot be used; carries every problem found, all at once."""

    exit_code = 1  # "invalid" is validate's and plan's answer "no"

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.source}: " if self.source else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} found:"]
        lines += [f"  - {p.render()}" for p in self.problems]
        return "\n".join(lines)


class PrivilegeError(KindscapeError):
    """The runtime needs privileges this process does not have."""


class StateError(KindscapeError):
    """The scenario's recorded state does not allow the requested command."""


class NoSuchScenario(StateError):
    """No scenario of that name is up (nor anything left of one)."""


class RuntimeFailure(KindscapeError):
    """Applying or removing a scenario failed; the message names the step."""


class CommandFailed(RuntimeFailure):
    """A subprocess failed: carries its argv and stderr so the user sees exactly what ran."""

    def __init__(self, argv: list[str], returncode: int, stderr: str):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        shown = " ".join(argv)
        super().__init__(f"command failed (exit {returncode}): {shown}\n{stderr.strip()}")


class KernelFeatureMissing(KindscapeError):
    """The scenario needs a kernel feature this machine lacks (named in the message)."""
