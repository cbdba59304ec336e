"""Golden files: compare text with tests/golden/expected/<name>; regenerate them with
KINDSCAPE_UPDATE_GOLDEN=1 (then read the diff before committing)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from kindscape.errors import ScenarioError

EXPECTED = Path(__file__).parent / "expected"


def compare(name: str, actual: str) -> None:
    path = EXPECTED / name
    if os.environ.get("KINDSCAPE_UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("KINDSCAPE_UPDATE_GOLDEN") != "1":
            raise AssertionError(f"no golden file {path}: run with KINDSCAPE_UPDATE_GOLDEN=1")
        path.write_text(actual)
        return
    expected = path.read_text()
    assert actual == expected, f"{name} differs from its golden file (KINDSCAPE_UPDATE_GOLDEN=1 to accept)"


def problems_text(error: ScenarioError) -> str:
    """Problems without the machine-specific file paths."""
    lines = []
    for problem in error.problems:
        shown = replace(problem, file=Path(problem.file).name if problem.file else None)
        lines.append(shown.render())
    return "\n".join(lines) + "\n"
