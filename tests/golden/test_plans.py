"""Golden plans: every example and golden scenario in, its plan (as commands) out."""

from __future__ import annotations

from pathlib import Path

import pytest

from kindscape import api
from kindscape.runtimes.netns import render
from tests.conftest import EXAMPLES
from tests.golden.goldens import compare

SCENARIOS = sorted(EXAMPLES.glob("*.yaml")) + sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_plan_matches_golden(path: Path) -> None:
    plan = api.plan(path, "netns")
    compare(f"{path.stem}.netns.plan", render.script(plan))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_plan_is_deterministic(path: Path) -> None:
    assert api.plan(path, "netns") == api.plan(path, "netns")
