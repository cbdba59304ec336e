"""The state file's format version: a state of another format, or a damaged one, is named
(which, and what to do) and never a traceback; `list` and `status` show it as unreadable
and go on with the others. (tests/integration/test_damaged_scenarios.py: the commands on
real scenarios, and `down --force`.)"""

from __future__ import annotations

import json

import pytest

from kindscape import api
from kindscape import state as statefile
from kindscape.state import STATE_FORMAT, ScenarioState, StateUnreadable


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(statefile, "STATE_ROOT", str(tmp_path))
    return tmp_path


def _write(root, name: str, document) -> None:
    (root / name).mkdir()
    (root / name / "state.json").write_text(document if isinstance(document, str) else json.dumps(document))


def _saved(root, name: str = "lab") -> dict:
    statefile.save(ScenarioState(name, "netns", phase="up", topology={"clusters": [], "hosts": []}))
    return json.loads((root / name / "state.json").read_text())


def test_a_state_records_its_format_and_maker_and_reads_back(root):
    document = _saved(root)
    assert document["format"] == STATE_FORMAT and document["madeBy"]
    assert statefile.load("lab").phase == "up"


@pytest.mark.parametrize("change, says", [
    (lambda d: "{\"name\": \"lab\", \"namesp", "it is damaged (JSONDecodeError: not JSON)"),
    (lambda d: "[]", "it is damaged (not a JSON object)"),
    (lambda d: {**d, "pid": "x"}, "it is damaged ('pid' is missing or of the wrong type)"),
    (lambda d: {**d, "processes": [{"pid": 1}]}, "it is damaged (its name, process records or names do not fit)"),
    (lambda d: {**d, "namespaces": [1]}, "it is damaged (its name, process records or names do not fit)"),
    (lambda d: {k: v for k, v in d.items() if k != "format"}, "no format version (an older kindscape's)"),
    (lambda d: {**d, "format": STATE_FORMAT + 1, "madeBy": "9.0"}, f"format {STATE_FORMAT + 1}; this kindscape"),
])
def test_an_unusable_state_says_which_and_what_to_do(root, change, says):
    document = _saved(root)
    (root / "lab" / "state.json").write_text(json.dumps(change(document)) if not isinstance(change(document), str)
                                             else change(document))
    with pytest.raises(StateUnreadable) as info:
        statefile.load("lab")
    message = str(info.value)
    assert says in message and "kindscape down --force lab" in message
    if "9.0" in json.dumps(change(document)):
        assert "`kindscape down lab` with the kindscape that made it (9.0)" in message


def test_list_and_status_show_unreadable_states_and_go_on(root):
    good = _saved(root, "good")
    _write(root, "damaged", {**good, "name": "damaged", "topology": {"clusters": 5}})
    _write(root, "old", {k: v for k, v in {**good, "name": "old"}.items() if k != "format"})
    rows = {row["name"]: (row["phase"], row["clusters"]) for row in api.list_scenarios()}
    assert rows == {"good": ("up", 0), "damaged": ("unreadable", None), "old": ("unreadable", None)}
    others = {entry["name"]: entry for entry in api.status()["notUp"]}
    assert others["old"]["phase"] == "unreadable" and "no format version" in others["old"]["reason"]
    assert "topology does not decode" in others["damaged"]["reason"]
