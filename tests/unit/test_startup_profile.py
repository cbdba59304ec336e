"""The benchmark's start-up split reads `python -X importtime` right: top-level imports
sum to the whole, nested ones are not counted twice, and a named group sums its outermost
lines wherever they are (pydantic loads its parts lazily, under whoever first uses them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = """import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _weakref
import time:       200 |        300 | weakref
import time:        50 |         50 |     pydantic_core
import time:       400 |        450 |   pydantic
import time:        30 |         30 |     pydantic.fields
import time:        70 |        100 |   pydantic._internal._model_construction
import time:      1000 |       1550 | kindscape.scenario
"""


@pytest.fixture
def startup(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import startup
    return startup


def test_top_level_imports_sum_and_groups_count_their_outermost_lines(startup):
    times = startup.parse_importtime(SAMPLE)
    assert round(times.total * 1e6) == 300 + 1550
    # pydantic (450, with pydantic_core inside) + its lazily loaded part (100, with
    # pydantic.fields inside): neither inner line counts again
    assert {k: round(v * 1e6) for k, v in times.named.items()} == {"pydantic": 550, "kindscape.scenario": 1550}


def test_a_real_interpreters_report_parses(startup):
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import json, pydantic"],
                          capture_output=True, text=True, check=True)
    times = startup.parse_importtime(done.stderr)
    assert 0 < times.named["pydantic"] <= times.total
    assert "kindscape.scenario" not in times.named
