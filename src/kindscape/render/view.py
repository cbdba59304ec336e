"""What the commands print for people, as plain data - `Text`, `Table`, `Group` - and its
two outputs: rich for a terminal (colour, wrapped to its width) and plain text for a pipe
or a CI log.

The plain output is byte for byte what rich prints into a pipe (no colour, nothing
wrapped; tests/unit/test_view.py compares the two on generated views), without importing
rich: rich's import and layout cost more than a small scenario's whole `check`."""

from __future__ import annotations

import os
import unicodedata
from typing import IO, Any, Union


class Text:
    """A line (or lines) of text in styled runs; the style is rich's ("bold red")."""

    __slots__ = ("runs",)

    def __init__(self, text: str = "", style: str = ""):
        self.runs: list[tuple[str, str]] = [(text, style)]

    def append(self, text: str, style: str = "") -> "Text":
        self.runs.append((text, style))
        return self

    def append_text(self, other: "Text") -> "Text":
        self.runs += other.runs
        return self

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.runs)


Cell = Union[str, Text]


class Column:
    __slots__ = ("header", "justify", "style")

    def __init__(self, header: str, justify: str, style: str):
        self.header, self.justify, self.style = header, justify, style


class Table:
    """A table with a header row, boxed (rich's default box) or not (columns apart by two
    spaces, as kubectl prints them), an optional title above it and caption below it, both
    left-aligned."""

    __slots__ = ("title", "boxed", "caption", "columns", "rows")

    def __init__(self, title: str | None = None, boxed: bool = True):
        self.title, self.boxed = title, boxed
        self.caption: str | None = None
        self.columns: list[Column] = []
        self.rows: list[tuple[Cell, ...]] = []

    def add_column(self, header: str, justify: str = "left", style: str = "") -> None:
        if justify not in _JUSTIFY:
            raise ValueError(f"unknown justification {justify!r}")
        self.columns.append(Column(header, justify, style))

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells in a table of {len(self.columns)} columns")
        self.rows.append(cells)


class Group:
    """Views printed one after the other."""

    __slots__ = ("parts",)

    def __init__(self, *parts: "View"):
        self.parts = list(parts)


View = Union[Text, Table, Group]


# -- plain text -------------------------------------------------------------------------

def _cell_len(text: str) -> int:
    """Terminal cells a line takes: two for East Asian wide characters, none for combining
    marks (as rich counts them)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _left(text: str, width: int) -> str:
    return text + " " * (width - _cell_len(text))


def _right(text: str, width: int) -> str:
    return " " * (width - _cell_len(text)) + text


def _center(text: str, width: int) -> str:
    excess = width - _cell_len(text)
    return " " * (excess // 2) + text + " " * (excess - excess // 2)


_JUSTIFY = {"left": _left, "right": _right, "center": _center}


def _lines(cell: Cell) -> list[str]:
    return (cell.plain if isinstance(cell, Text) else cell).split("\n")


def _table_lines(table: Table) -> list[str]:
    header = [[c.header] for c in table.columns]
    rows = [[_lines(cell) for cell in row] for row in table.rows]
    widths = [max(_cell_len(line) for cells in (h, *(r[i] for r in rows)) for line in cells)
              for i, h in enumerate(header)]

    def rule(left: str, line: str, cross: str, right: str) -> str:
        return left + cross.join(line * (w + 2) for w in widths) + right

    def body(cells: list[list[str]], bar: str) -> list[str]:
        height = max((len(c) for c in cells), default=1)
        lines = [[_JUSTIFY[col.justify](c[i] if i < len(c) else "", w)
                  for c, col, w in zip(cells, table.columns, widths)] for i in range(height)]
        if not table.boxed:
            return ["  ".join(line) for line in lines]
        return [bar + bar.join(f" {cell} " for cell in line) + bar for line in lines]

    out = [table.title] if table.title is not None else []
    if not table.boxed:
        out += body(header, "")
        for row in rows:
            out += body(row, "")
    else:
        out.append(rule("┏", "━", "┳", "┓"))
        out += body(header, "┃")
        out.append(rule("┡", "━", "╇", "┩"))
        for row in rows:
            out += body(row, "│")
        out.append(rule("└", "─", "┴", "┘"))
    if table.caption is not None:
        out.append(table.caption)
    return out


def _view_lines(view: View) -> list[str]:
    if isinstance(view, Group):
        return [line for part in view.parts for line in _view_lines(part)]
    if isinstance(view, Table):
        return _table_lines(view)
    return view.plain.split("\n")


def plain(view: View) -> str:
    """The view as rich prints it into a pipe, without colour."""
    return "".join(line + "\n" for line in _view_lines(view))


# -- rich -------------------------------------------------------------------------------

def to_rich(view: View) -> Any:
    """The same view as rich's objects (for a terminal)."""
    from rich.console import Group as RichGroup
    from rich.table import Table as RichTable
    from rich.text import Text as RichText

    def text(item: Cell | None) -> Any:
        """Every string as rich's Text, which rich does not read as markup or emoji codes."""
        if item is None or isinstance(item, str):
            return item if item is None else RichText(item)
        made = RichText()
        for run, style in item.runs:
            made.append(run, style=style or None)
        return made

    def convert(item: View) -> Any:
        if isinstance(item, Group):
            return RichGroup(*(convert(part) for part in item.parts))
        if isinstance(item, Text):
            return text(item)
        made = RichTable(title=text(item.title), title_justify="left", caption=text(item.caption),
                         caption_justify="left", **({} if item.boxed else {"box": None, "pad_edge": False}))
        for column in item.columns:
            made.add_column(text(column.header), justify=column.justify, style=column.style or None)
        for row in item.rows:
            made.add_row(*(text(cell) for cell in row))
        return made

    return convert(view)


def wants_rich(stream: IO[str]) -> bool:
    """A terminal, or a pipe that asked for rich's output (a width, or colour)."""
    return (stream.isatty() or "COLUMNS" in os.environ
            or any(os.environ.get(key) for key in ("FORCE_COLOR", "TTY_COMPATIBLE")))
