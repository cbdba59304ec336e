"""The benchmark's start-up split reads `python -X importtime` right: top-level imports
sum to the whole, nested ones are not counted twice, named modules are found at any depth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import startup  # noqa: E402

SAMPLE = """import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _weakref
import time:       200 |        300 | weakref
import time:        50 |         50 |     pydantic_core
import time:       400 |        450 |   pydantic
import time:      1000 |       1450 | kindscape.scenario
"""


def test_top_level_imports_sum_and_named_ones_are_found_nested():
    times = startup.parse_importtime(SAMPLE)
    assert round(times.total * 1e6) == 300 + 1450
    assert times.named == {"pydantic": 450 / 1e6, "kindscape.scenario": 1450 / 1e6}


def test_a_real_interpreters_report_parses():
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import json, pydantic"],
                          capture_output=True, text=True, check=True)
    times = startup.parse_importtime(done.stderr)
    assert 0 < times.named["pydantic"] <= times.total
    assert "kindscape.scenario" not in times.named
