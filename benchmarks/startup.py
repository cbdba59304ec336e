"""Where the seconds of a `kindscape up` command go that the library figure does not
count: the interpreter's start, the imports `up` makes (pydantic's and the schema
models' share named), then the work itself (the library's own up, timed in a warm
process), and what is left (writing the result, exit).

It runs the real command under `python -X importtime` (the kernel work is the same,
the clock is the command's wall time), so the split is measured, not estimated.
"""

from __future__ import annotations

import os
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


def _in_group(module: str, group: str) -> bool:
    """`pydantic` covers pydantic_core too (a lazily imported package is spread over many
    lines: its submodules load when first used, under whoever uses them)."""
    return module == group or module.startswith(group + ".") or (group == "pydantic" and module.startswith("pydantic"))


def parse_importtime(stderr: str) -> ImportTimes:
    """`-X importtime` lines: `import time: self [us] | cumulative | name`, nested names
    indented two spaces a level, children before their parent. Top-level lines sum to the
    whole; a named group sums its outermost lines (those under no line of the group)."""
    lines = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _, cumulative, name = line[len("import time:"):].split("|", 2)
            lines.append(((len(name) - len(name.lstrip())) // 2, name.strip(), int(cumulative)))
    total = sum(cumulative for depth, _, cumulative in lines if depth == 0)
    named = {}
    for group in NAMED_IMPORTS:
        outer, stack = 0, []  # (depth, under the group) of the ancestors of the line at hand
        for depth, module, cumulative in reversed(lines):  # parents first
            while stack and stack[-1][0] >= depth:
                stack.pop()
            under = bool(stack) and stack[-1][1]
            mine = _in_group(module, group)
            if mine and not under:
                outer += cumulative
            stack.append((depth, under or mine))
        if outer:
            named[group] = outer / 1e6
    return ImportTimes(total / 1e6, named)


def _interpreter_start(repeats: int) -> tuple[float, float]:
    """An empty program's wall time and its own imports' (site and what it pulls in)."""
    walls, imports = [], []
    for _ in range(repeats):
        run = measure.run_timed([sys.executable, "-X", "importtime", "-c", ""])
        walls.append(run.seconds)
        imports.append(parse_importtime(run.stderr).total)
    return statistics.median(walls), statistics.median(imports)


def profile_up(path: str, name: str, repeats: int = 3) -> dict:
    """The median split of `kindscape up PATH -o json` (the console script users run, with
    PYTHONPROFILEIMPORTTIME; then `down`) over repeats."""
    start, site = _interpreter_start(repeats)
    walls, totals, named = [], [], {module: [] for module in NAMED_IMPORTS}
    for _ in range(repeats):
        measure.settle(limit=5)
        run = measure.run_timed(measure.kindscape_command() + ["up", path, "-o", "json"],
                                env=dict(os.environ, PYTHONPROFILEIMPORTTIME="1"))
        measure.run_timed(measure.kindscape_command() + ["down", name])
        if run.code != 0:
            return {"error": f"up failed: {run.stderr.strip()[-200:]}"}
        imports = parse_importtime(run.stderr)
        walls.append(run.seconds)
        totals.append(imports.total - site)
        for module in NAMED_IMPORTS:
            named[module].append(imports.named.get(module, 0.0))
    command = statistics.median(walls)
    imports_s = statistics.median(totals)
    split = {"repeats": repeats, "command": command, "interpreter start": start, "imports": imports_s,
             **{f"of which {m}": statistics.median(v) for m, v in named.items()}}
    # The rest is the work, the output and the exit. Not the library's `up` subtracted: the
    # library validates the file (its first validation builds pydantic's validators), the
    # command takes it from its cache, so the library's `up` can exceed the command's.
    split["work, output, exit"] = command - start - imports_s
    return split


def render(split: dict, what: str) -> str:
    if "error" in split:
        return f"where `up` goes ({what}): {split['error']}"
    command = split["command"]
    parts = [f"{key} {value:.3f} s ({100 * value / command:.0f}%)" for key, value in split.items()
             if key not in ("command", "repeats")]
    return (f"where `kindscape up` goes ({what}, median of {split['repeats']}; importtime adds a little "
            f"to imports, and pydantic's share is within kindscape.scenario's): {command:.3f} s = "
            + "; ".join(parts))
