"""The state directory only ever holds scenario names: a name that could escape it
(`../etc`, `/`, `a/b`) is refused before any path is made from it."""

from __future__ import annotations

import pytest

from kindscape import state as statefile
from kindscape.errors import StateError
from kindscape.scenario import naming


def test_state_and_loader_agree_on_what_a_scenario_name_is():
    assert statefile.SCENARIO_NAME_RE.pattern == naming.SCENARIO_NAME_RE.pattern
    assert statefile.SCENARIO_NAME_MAX == naming.SCENARIO_NAME_MAX


@pytest.mark.parametrize("name", ["../etc", "/", "/etc", "a/b", "..", ".", "", "A", "a" * 21, "a\0b", "-a"])
def test_paths_are_never_made_from_bad_names(name):
    with pytest.raises(StateError, match="invalid scenario name"):
        statefile.scenario_dir(name)
    with pytest.raises(StateError, match="invalid scenario name"):
        with statefile.locked(name):
            pass


def test_listing_ignores_what_is_not_a_scenario(tmp_path, monkeypatch):
    monkeypatch.setattr(statefile, "STATE_ROOT", str(tmp_path))
    for entry in ("good", "UPPER", "x.lock", "..hidden"):
        (tmp_path / entry).mkdir()
        (tmp_path / entry / "state.json").write_text("{}")
    assert statefile.names() == ["good"]
