"""Every independent problem of a file in one run: structure, names, references, overlaps.

A document with structural problems (an unknown key, a value of the wrong type) is not
given up on: each problem is reported, the offending key is taken out of a copy of the
document, and the rest is validated as usual. What was taken out is *undecidable*: a
later problem located at, inside, or above a removed key (a `configFile` misspelt makes
"give exactly one of config or configFile" follow) is a consequence, not a problem of
its own, and is dropped (`Undecidable.keep`). A check that compares items with each
other (overlaps) asks `Undecidable.covers` before using a defaulted value.

A problem no removal can mend (a required field missing or of the wrong type) still
stops loading after the structural stage: what it hides is undecidable anyway.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import Problem
from .structure import data_path, validate_model
from .yamlsource import Locator, Path, format_path

M = TypeVar("M", bound=BaseModel)
MAX_ROUNDS = 4  # removing a key cannot create new errors elsewhere; a bound all the same


@dataclass
class Undecidable:
    """The paths (as formatted in problems) of what structural validation removed."""

    paths: set[str] = field(default_factory=set)

    def covers(self, path: Path | str) -> bool:
        """Whether `path` is, or lies inside, something removed."""
        text = path if isinstance(path, str) else format_path(path)
        return any(_within(text, removed) for removed in self.paths)

    def touches(self, path: Path | str) -> bool:
        """Whether something removed is `path`, lies inside it, or contains it."""
        text = path if isinstance(path, str) else format_path(path)
        return any(_within(text, removed) or _within(removed, text) for removed in self.paths)

    def keep(self, problems: list[Problem]) -> list[Problem]:
        """The problems that are not about something removed (nor inside or above it)."""
        return [p for p in problems if not self.touches(p.path)]


def _within(path: str, outer: str) -> bool:
    return path == outer or outer == "" or path.startswith(outer + ".") or path.startswith(outer + "[")


def validate_salvaging(model: type[M], data: Any, locator: Locator) -> tuple[M | None, list[Problem], Undecidable]:
    """(the model of what is left, every structural problem, what was removed); the
    model is None when the problems cannot be mended by removing keys."""
    spec, problems = validate_model(model, data, locator)
    undecidable = Undecidable()
    if spec is not None:
        return spec, problems, undecidable
    left = copy.deepcopy(data)
    for _ in range(MAX_ROUNDS):
        try:
            return model.model_validate(left), problems, undecidable
        except ValidationError as exc:
            removed = [None if err["type"] == "missing" else _remove(left, data_path(left, tuple(err["loc"])))
                       for err in exc.errors()]
        if not any(removed):
            break
        undecidable.paths.update(format_path(path) for path in removed if path)
    return None, problems, undecidable


def _remove(data: Any, path: Path) -> Path | None:
    """Remove the key at the end of `path`, or, for a bad item of a list of values (a list
    item cannot go without renumbering the others), that list when it is not a top-level
    section (its items are named and referenced elsewhere); returns what was removed, or
    None when nothing can be."""
    cut = len(path) - 1 if path and isinstance(path[-1], int) and len(path) > 2 else len(path)
    if cut == 0:
        return None
    parent, key = _at(data, path[:cut - 1]), path[cut - 1]
    if isinstance(parent, dict) and isinstance(key, str) and key in parent:
        del parent[key]
        return path[:cut]
    return None


def _at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data
