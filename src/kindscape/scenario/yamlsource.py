"""YAML documents with the line of every key and item, so errors can say where they are.

PyYAML composes the node tree (which carries marks); we construct plain data from it
and record, for each path in the data, the line it starts on. Duplicate keys, which
PyYAML silently accepts (last wins), are reported as problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Problem

Path = tuple[str | int, ...]
# Limits that keep hostile documents (alias bombs, alias cycles, absurd nesting) from
# exhausting memory or the stack; real scenarios are far below them.
MAX_DEPTH = 64
MAX_NODES = 100_000


# A key is shown in an error only when it looks like a YAML key, and then at most this
# long: a file that is not YAML (a password file given as a config) must not have its
# lines printed back as "unknown field" paths.
KEY_RE = re.compile(r"^[A-Za-z0-9_$@][A-Za-z0-9_.\-/$@]*$")
MAX_KEY_SHOWN = 40
HIDDEN_KEY = "<key not shown>"
MAX_VALUE_SHOWN = 80


def format_path(path: Path) -> str:
    """('clusters', 1, 'config') -> 'clusters[1].config'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = shown_key(part)
            text += f".{shown}" if text else shown
    return text


def shown_key(key: object) -> str:
    """A key as an error may show it: YAML-key-like, truncated; otherwise a placeholder."""
    text = str(key)
    if not KEY_RE.match(text):
        return HIDDEN_KEY
    return text if len(text) <= MAX_KEY_SHOWN else text[:MAX_KEY_SHOWN] + "…"


def shown_value(value: Any) -> Any:
    """A value as an error may show it: long strings truncated."""
    if isinstance(value, str) and len(value) > MAX_VALUE_SHOWN:
        return value[:MAX_VALUE_SHOWN] + "…"
    return value


@dataclass
class Locator:
    """Maps a data path to the 1-based line where it appears in its file."""

    file: str | None = None
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        # Fall back to the nearest ancestor that has a line (e.g. a missing key).
        for cut in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:cut]))
            if found is not None:
                return found
        return None

    def problem(self, path: Path, message: str, value: Any = None, hint: str | None = None) -> Problem:
        return Problem(format_path(path), message, shown_value(value), hint, self.line(path), self.file)

    def nested(self, prefix: Path, other: "Locator") -> "Locator":
        """A locator for a document embedded at `prefix` but read from another file."""
        merged = Locator(self.file, dict(self.lines))
        for path, line in other.lines.items():
            merged.lines[prefix + path] = line
        return merged


@dataclass
class YamlDocument:
    data: Any
    locator: Locator
    problems: list[Problem]


def _loader_class() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: str | None = None) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys become problems."""
    locator = Locator(file)
    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, locator, [])
        shape = _shape_problem(node, file)
        if shape is not None:
            return YamlDocument(None, locator, [shape])
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        return YamlDocument(None, locator, [_syntax_problem(exc, text, file)])
    finally:
        loader.dispose()
    problems: list[Problem] = []
    _walk(node, data, (), locator, problems)
    return YamlDocument(data, locator, problems)


def _shape_problem(root: yaml.Node, file: str | None) -> Problem | None:
    """Walk the node graph as construction would (aliases expanded), without recursion:
    refuse alias cycles, nesting deeper than MAX_DEPTH and more than MAX_NODES nodes."""
    stack: list[tuple[yaml.Node, int, frozenset[int]]] = [(root, 0, frozenset())]
    visited = 0
    while stack:
        node, depth, ancestors = stack.pop()
        visited += 1
        line = node.start_mark.line + 1
        if id(node) in ancestors:
            return Problem("", "a YAML alias refers to itself", None,
                           "remove the recursive anchor (&) / alias (*)", line, file)
        if depth > MAX_DEPTH:
            return Problem("", f"the document nests deeper than {MAX_DEPTH} levels", None, None, line, file)
        if visited > MAX_NODES:
            return Problem("", f"the document expands to more than {MAX_NODES} values", None,
                           "aliases (*) copy what they refer to: use fewer of them", line, file)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            inside = ancestors | {id(node)}
            children = [v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode) \
                else node.value
            stack.extend((child, depth + 1, inside) for child in children)
    return None


def _syntax_problem(exc: yaml.YAMLError, text: str, file: str | None) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    if isinstance(exc, yaml.reader.ReaderError):  # a bad character: it has an offset, no mark
        line = text.count("\n", 0, exc.position) + 1
        return Problem("", f"invalid YAML: {exc.reason}", chr(exc.character) if
                       isinstance(exc.character, int) else exc.character,
                       "YAML allows printable characters, tabs and newlines only", line, file)
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {reason}" + (f" ({context})" if context else "")
    return Problem("", message, None, "check the indentation and quoting around this line", line, file)


def _walk(node: yaml.Node, data: Any, path: Path, locator: Locator, problems: list[Problem]) -> None:
    locator.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _scalar_key(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(format_path(path + (str(key),)), "duplicate key", None,
                            f"first defined at line {seen[key]}", line, locator.file))
                continue
            seen[key] = line
            if key in data:
                locator.lines[path + (key,)] = line
                _walk(value_node, data[key], path + (key,), locator, problems)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, (item_node, item) in enumerate(zip(node.value, data)):
            _walk(item_node, item, path + (index,), locator, problems)


def _scalar_key(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    return repr(node)
