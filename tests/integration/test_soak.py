"""Soak (benchmarks/soak.py): repeated up/check/down cycles and repeated checks against one
long-lived workload server leave nothing behind, and grow neither open files, threads
nor memory of the processes that live on. The full 100 + 100 run is `slow` (CI runs it);
the default suite runs a short one so the soak itself stays working."""

from __future__ import annotations

import json

import pytest

from benchmarks import soak


def _assert_soaked(result: dict) -> None:
    assert result["ok"], json.dumps({k: result[k] for k in ("leftovers", "grew", "failures")}, indent=1)
    # Fewer at the end is no leak: the driver is pytest, whose own files (captures, an
    # object's pipes the collector closes late) come and go while the soak runs.
    assert result["driver"]["end"]["fds"] <= result["driver"]["baseline"]["fds"]
    assert result["server"]["end"]["fds"] == result["server"]["baseline"]["fds"]


def test_short_soak_leaves_nothing_and_grows_nothing(no_leaks):
    _assert_soaked(soak.soak(cycle_count=8, check_count=8))


@pytest.mark.slow
def test_soak_100_cycles_and_100_checks(no_leaks, capsys):
    result = soak.soak(cycle_count=100, check_count=100)
    with capsys.disabled():
        print("\nsoak:", json.dumps({k: result[k] for k in ("seconds", "cycleSeconds", "driver", "server")}))
    _assert_soaked(result)
