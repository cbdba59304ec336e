"""Golden errors: every invalid scenario in, all its located problems out, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest

import kindscape
from tests.golden.goldens import compare, problems_text

INVALID = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_scenario_reports_every_problem(path: Path) -> None:
    with pytest.raises(kindscape.ScenarioError) as caught:
        kindscape.load(path)
    assert caught.value.problems, "a ScenarioError must carry problems"
    compare(f"{path.stem}.errors", problems_text(caught.value))
