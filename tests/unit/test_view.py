"""The plain output of render/view.py is what rich prints into a pipe, byte for byte: the
commands print it instead of rich when stdout is not a terminal."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings, strategies as st

from kindscape.render.view import Group, Table, Text, plain, to_rich

# Names, addresses, arrows and the table's own signs; a wide character and a combining mark.
ALPHABET = st.sampled_from(list("ab-/.:0129 ") + ["·", "→", "×", "…", "界", "e\u0301"])
LINE = st.lists(ALPHABET, max_size=12).map("".join).map(str.strip)
STYLES = st.sampled_from(["", "bold", "red", "dim", "bold green"])


def rich_pipe(view) -> str:
    """How the commands printed a view before: rich into a pipe (commands.console)."""
    from rich.console import Console
    out = io.StringIO()
    Console(file=out, highlight=False, width=100_000, soft_wrap=True).print(to_rich(view))
    return out.getvalue()


@st.composite
def texts(draw) -> Text:
    text = Text(draw(LINE), draw(STYLES))
    for run in draw(st.lists(st.tuples(st.one_of(LINE, st.just("\n")), STYLES), max_size=3)):
        text.append(*run)
    return text


@st.composite
def tables(draw) -> Table:
    table = Table(title=draw(st.one_of(st.none(), LINE.filter(bool))), boxed=draw(st.booleans()))
    count = draw(st.integers(1, 5))
    for _ in range(count):
        table.add_column(draw(LINE.filter(bool)), justify=draw(st.sampled_from(["left", "right", "center"])),
                         style=draw(STYLES))
    cell = st.one_of(LINE, texts(), st.lists(LINE, min_size=2, max_size=3).map("\n".join))
    for _ in range(draw(st.integers(0, 4))):
        table.add_row(*draw(st.lists(cell, min_size=count, max_size=count)))
    if draw(st.booleans()):
        table.caption = draw(LINE.filter(bool))
    return table


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(texts(), tables()), min_size=1, max_size=4))
def test_plain_output_is_rich_output_into_a_pipe(parts):
    view = Group(*parts)
    assert plain(view) == rich_pipe(view)


def test_a_row_must_fill_the_table():
    table = Table()
    table.add_column("a")
    with pytest.raises(ValueError, match="2 cells in a table of 1 columns"):
        table.add_row("1", "2")
