"""Golden plans of the kind runtime: every example (and golden scenario) in, the
equivalent kind/docker/kubectl commands out. New examples are picked up automatically."""

from __future__ import annotations

import json

import pytest

from kindscape import api
from kindscape.errors import KindscapeError
from kindscape.plan import render
from tests.golden.goldens import compare
from tests.golden.test_plans import SCENARIOS

ENVIRONMENT = ("KIND_EXPERIMENTAL_DOCKER_NETWORK", "KINDSCAPE_HOST_IMAGE", "KINDSCAPE_PROBE_IMAGE")


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    """Goldens show the defaults, whatever the developer's environment says."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def _plan_or_refusal(path):
    """The kind plan, or the runtime's refusal (what it does not build yet is pinned here)."""
    try:
        return api.plan(path, "kind"), None
    except KindscapeError as exc:
        return None, f"refused: {exc}\n"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_kind_plan_matches_golden(path) -> None:
    plan, refusal = _plan_or_refusal(path)
    compare(f"{path.stem}.kind.plan", refusal or render.script(plan))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_kind_plan_is_deterministic_and_json(path) -> None:
    plan, refusal = _plan_or_refusal(path)
    if refusal:
        pytest.skip(refusal.strip())
    assert plan == api.plan(path, "kind")
    assert json.loads(json.dumps(render.to_json(plan)))["ops"]
