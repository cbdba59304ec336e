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


# The kind runtime does not make workloads and NetworkPolicies yet: it refuses them.
NETNS_ONLY = {"network-policies"}
KIND_SCENARIOS = [p for p in SCENARIOS if p.stem not in NETNS_ONLY]


@pytest.mark.parametrize("path", KIND_SCENARIOS, ids=lambda p: p.stem)
def test_kind_plan_matches_golden(path) -> None:
    """Every example has a kind plan: the runtime builds Services and impairments too."""
    compare(f"{path.stem}.kind.plan", render.script(api.plan(path, "kind")))


@pytest.mark.parametrize("path", [p for p in SCENARIOS if p.stem in NETNS_ONLY], ids=lambda p: p.stem)
def test_kind_plan_refuses_what_it_cannot_make_yet(path) -> None:
    with pytest.raises(KindscapeError, match="kind runtime does not create workloads, namespaces, networkPolicies"):
        api.plan(path, "kind")


@pytest.mark.parametrize("path", KIND_SCENARIOS, ids=lambda p: p.stem)
def test_kind_plan_is_deterministic_and_json(path) -> None:
    plan = api.plan(path, "kind")
    assert plan == api.plan(path, "kind")
    assert json.loads(json.dumps(render.to_json(plan)))["ops"]
