"""Where the seconds of a `kindscape up` command go that the library figure does not
count: the interpreter's start, the imports `up` makes (pydantic's and the schema
models' share named), then the work itself (the library's own up, timed in a warm
process), and what is left (writing the result, exit).

It runs the real command under `python -X importtime` (the kernel work is the same,
the clock is the command's wall time), so the split is measured, not estimated.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass

import measure

# The modules whose cumulative import time is shown on its own: the schema's validator
# library, and kindscape's schema package (pydantic plus building the models).
NAMED_IMPORTS = ("pydantic", "kindscape.scenario")


@dataclass
class ImportTimes:
    total: float  # seconds: the sum of the top-level imports' cumulative times
    named: dict[str, float]


def parse_importtime(stderr: str) -> ImportTimes:
    """`-X importtime` lines: `import time: self [us] | cumulative | name`, nested names
    indented; top-level ones sum to the whole; a named module counts at its first import."""
    total, named = 0, {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|", 2)
        module = name.strip()
        if name.startswith(" ") and not name.startswith("  "):  # one space: top level
            total += int(cumulative)
        if module in NAMED_IMPORTS and module not in named:
            named[module] = int(cumulative) / 1e6
    return ImportTimes(total / 1e6, named)


def _interpreter_start(repeats: int) -> tuple[float, ImportTimes]:
    """An empty program's wall time and its own imports (site and what it pulls in)."""
    walls, imports = [], None
    for _ in range(repeats):
        run = measure.run_timed([sys.executable, "-X", "importtime", "-c", ""])
        walls.append(run.seconds)
        imports = parse_importtime(run.stderr)
    return statistics.median(walls), imports


def profile_up(path: str, name: str, library_up: float | None, repeats: int = 3) -> dict:
    """The median split of `python -m kindscape up PATH -o json` (then `down`) over repeats."""
    start, site = _interpreter_start(repeats)
    walls, totals, named = [], [], {module: [] for module in NAMED_IMPORTS}
    for _ in range(repeats):
        measure.settle(limit=5)
        run = measure.run_timed([sys.executable, "-X", "importtime", "-m", "kindscape", "up", path, "-o", "json"])
        measure.run_timed(measure.kindscape_command() + ["down", name])
        if run.code != 0:
            return {"error": f"up failed: {run.stderr.strip()[-200:]}"}
        imports = parse_importtime(run.stderr)
        walls.append(run.seconds)
        totals.append(imports.total - site.total)
        for module in NAMED_IMPORTS:
            named[module].append(imports.named.get(module, 0.0))
    command = statistics.median(walls)
    imports_s = statistics.median(totals)
    split = {"command": command, "interpreter start": start, "imports": imports_s,
             **{f"of which {m}": statistics.median(v) for m, v in named.items()}}
    if library_up is not None:
        split["work (library up)"] = library_up
        split["rest (output, exit)"] = command - start - imports_s - library_up
    return split


def render(split: dict, what: str) -> str:
    if "error" in split:
        return f"where `up` goes ({what}): {split['error']}"
    command = split["command"]
    parts = [f"{key} {value:.3f} s ({100 * value / command:.0f}%)" for key, value in split.items()
             if key != "command"]
    return (f"where `kindscape up` goes ({what}; -X importtime adds a little to imports): "
            f"{command:.3f} s = " + "; ".join(parts))
