"""Strict structural validation with pydantic, its errors turned into located problems."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import Problem
from .yamlsource import Locator, Path

M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def validate_model(model: type[M], data: Any, locator: Locator, prefix: Path = ()) -> tuple[M | None, list[Problem]]:
    """Validate `data` against `model`; on failure, every error as a located problem."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = [_to_problem(model, data, err, locator, prefix) for err in exc.errors()]
        return None, _dedupe(problems)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, kept = set(), []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept


def data_path(data: Any, loc: tuple) -> Path:
    """Keep the parts of a pydantic location that are real keys or indexes of the data
    (drops union-member tags such as 'str' or 'function-after[...]')."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            path.append(part)  # a missing or unknown key: still part of the path
            node = None
    return tuple(path)


def _is_tag(part: str) -> bool:
    return part in ("str", "int", "float", "bool", "list", "dict") or "[" in part


def _to_problem(model: type[BaseModel], data: Any, err: dict, locator: Locator, prefix: Path) -> Problem:
    path = data_path(data, tuple(err["loc"]))
    kind = err["type"]
    full = prefix + path
    if kind == "extra_forbidden":
        known = _known_fields(model, path[:-1])
        return locator.problem(full, "unknown field", None, _field_hint(str(path[-1]), known))
    if kind == "missing":
        return locator.problem(full, "required field is missing")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return locator.problem(full, f"must be {expected}", err.get("input"))
    word = _TYPE_WORDS.get(kind, err["msg"])
    value = err.get("input")
    return locator.problem(full, word, value if isinstance(value, (str, int, float, bool)) else None)


def _field_hint(name: str, known: list[str]) -> str | None:
    if not known:
        return None
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "known fields: " + ", ".join(known)


def _known_fields(model: type[BaseModel], path: Path) -> list[str]:
    """The field names (as written in the file) of the model found at `path`."""
    current: Any = model
    for part in path:
        current = _unwrap(current, by_index=isinstance(part, int))
        if isinstance(part, str):
            if not (isinstance(current, type) and issubclass(current, BaseModel)):
                return []
            field = _field_by_alias(current, part)
            if field is None:
                return []
            current = field.annotation
    current = _unwrap(current, by_index=False)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _field_by_alias(model: type[BaseModel], name: str):
    for field_name, field in model.model_fields.items():
        if (field.alias or field_name) == name:
            return field
    return None


def _unwrap(annotation: Any, by_index: bool) -> Any:
    """Strip Optional/Union-with-None, and list[...] when indexing."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        annotation = models[0] if models else (args[0] if args else annotation)
        origin = typing.get_origin(annotation)
    if by_index and origin in (list, tuple):
        return typing.get_args(annotation)[0]
    return annotation
