"""Scenarios that use features other issues are still building (Services, impairments):
tests load them through `load_or_skip`, which skips, saying why, while this build refuses
the feature, and runs them as soon as it does not."""

from __future__ import annotations

import pytest

import kindscape
from tests.conftest import ROOT

SCENARIOS = ROOT / "tests" / "scenarios"


def load_or_skip(path):
    try:
        return kindscape.load(path)
    except kindscape.ScenarioError as exc:
        if "not supported by this version" in str(exc):
            pytest.skip(f"not in this build: {exc.problems[0].message}")
        raise
