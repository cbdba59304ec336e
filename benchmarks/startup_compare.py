"""The start-up of the commands scripts run on a scenario that is up - `status`, `check` -
against an earlier version (default b18f58b, the code before issue 14's redesign).

    sudo python benchmarks/startup_compare.py [--base REF] [--repeats 21] [--no-callgrind] [--json FILE]

It exports REF's `src/` and `examples/` (`git archive`) into a temporary directory,
byte-compiles both trees (as pip does: the .pyc files are there when users run it),
writes each tree's console script as pip would (the entry point in its pyproject.toml),
and brings the seed example (`examples/multi-cluster.yaml`) up once per tree, each in its
own state directory and namespace prefix (KINDSCAPE_STATE_DIR, KINDSCAPE_NETNS_PREFIX).
Then, per command, for both trees:
- instructions: `valgrind --tool=callgrind` (counted, so the same on a busy machine; the
  machine is shared: its wall times are not);
- wall time: the median of --repeats runs, the two trees interleaved (alternating which
  goes first), so a change of load hits both alike.
Both scenarios are taken down and the directory removed in every case (an error, Ctrl-C,
SIGTERM). Needs root: run it in a scratch network namespace if the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/multi-cluster.yaml"
# What pip writes as a console script (pip's own template, with the tree's src first on
# the path instead of an installed package).
SCRIPT = """import re
import sys
sys.path.insert(0, {src!r})
from {module} import {function}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({function}())
"""


@dataclass
class Tree:
    label: str  # "base" or "now"
    root: Path  # holds src/, examples/, pyproject.toml
    work: Path  # its console script and state directory

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        return {**env, "KINDSCAPE_STATE_DIR": str(self.work / "state"), "PYTHONHASHSEED": "0",
                "KINDSCAPE_NETNS_PREFIX": f"ks{self.label[0]}"}

    @property
    def command(self) -> list[str]:
        return [sys.executable, str(self.work / "kindscape")]

    def run(self, *args: str) -> measure.Run:
        return measure.run_timed(self.command + list(args), env=self.env)


def export(ref: str, into: Path) -> None:
    """REF's src/, examples/ and pyproject.toml, as git has them."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "src", "examples",
                              "pyproject.toml"], capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as handle:
        handle.write(archive)
        handle.seek(0)
        with tarfile.open(fileobj=handle) as tar:
            tar.extractall(into, filter="data")


def prepare(tree: Tree) -> None:
    """Byte-compiled sources and the console script pip would write for the tree."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree.root / "src")], check=True,
                   stdout=subprocess.DEVNULL, env=tree.env)
    entry = tomllib.loads((tree.root / "pyproject.toml").read_text())["project"]["scripts"]["kindscape"]
    module, function = entry.split(":")
    tree.work.mkdir(parents=True, exist_ok=True)
    (tree.work / "kindscape").write_text(SCRIPT.format(src=str(tree.root / "src"), module=module,
                                                       function=function))


def commands(name: str) -> list[tuple[str, ...]]:
    return [("status",), ("status", "-o", "json"), ("status", name), ("check", name),
            ("check", name, "-o", "json")]


def instructions(tree: Tree, args: tuple[str, ...]) -> tuple[int, int]:
    """Instructions the command executes (callgrind, the Python process only) and its exit status."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + tree.command
                          + list(args), capture_output=True, text=True, env=tree.env)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if not found:
        raise RuntimeError(f"callgrind gave no count for {args}: {done.stderr[-500:]}")
    return int(found.group(1)), done.returncode


def wall_times(trees: list[Tree], args: tuple[str, ...], repeats: int) -> dict[str, float]:
    """The median wall time (s) per tree, runs interleaved, the first tree alternating."""
    times: dict[str, list[float]] = {tree.label: [] for tree in trees}
    for round_ in range(repeats):
        for tree in trees if round_ % 2 == 0 else trees[::-1]:
            run = tree.run(*args)
            if run.code not in (0, 1):
                raise RuntimeError(f"{tree.label}: {' '.join(args)}: exit {run.code}: {run.stderr[-500:]}")
            times[tree.label].append(run.seconds)
    return {label: statistics.median(values) for label, values in times.items()}


def measure_all(trees: list[Tree], name: str, repeats: int, callgrind: bool) -> list[dict]:
    rows = []
    for args in commands(name):
        row: dict = {"command": " ".join(args).replace(name, "NAME"), "load": measure.load()}
        if callgrind:
            for tree in trees:
                row[f"{tree.label} instructions"], row[f"{tree.label} exit"] = instructions(tree, args)
        row.update({f"{label} s": seconds for label, seconds in wall_times(trees, args, repeats).items()})
        rows.append(row)
        print(render_row(row), flush=True)
    return rows


def render_header(callgrind: bool) -> str:
    counts = f"{'base Minstr':>12} {'now Minstr':>11} {'ratio':>6}  " if callgrind else ""
    return f"{'command':<20} {counts}{'base ms':>8} {'now ms':>7} {'ratio':>6}  load (1, 5, 15 min)"


def render_row(row: dict) -> str:
    counts = ""
    if "base instructions" in row:
        base, now = row["base instructions"], row["now instructions"]
        counts = f"{base / 1e6:12.0f} {now / 1e6:11.0f} {now / base:6.2f}  "
    base_s, now_s = row["base s"], row["now s"]
    return f"{row['command']:<20} {counts}{base_s * 1e3:8.0f} {now_s * 1e3:7.0f} {now_s / base_s:6.2f}  {row['load']}"


def scenario_name(example: Path) -> str:
    found = re.search(r"^name:\s*(\S+)", example.read_text(), re.MULTILINE)
    if not found:
        raise RuntimeError(f"{example}: no scenario name")
    return found.group(1)


def bring_up(tree: Tree) -> None:
    run = tree.run("up", str(tree.root / EXAMPLE), "-o", "json")
    if run.code != 0:
        raise RuntimeError(f"{tree.label}: up failed (exit {run.code}): {run.stderr[-500:]}{run.stdout[-500:]}")


def take_down(trees: list[Tree]) -> None:
    for tree in trees:
        if (tree.work / "kindscape").exists():
            run = tree.run("down", "--all")
            if run.code != 0:
                print(f"{tree.label}: down --all failed (exit {run.code}): {run.stderr[-500:]}", file=sys.stderr)


def _stop(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="b18f58b", help="the git ref to compare with (default: b18f58b)")
    parser.add_argument("--repeats", type=int, default=21, help="wall-time runs per command and tree")
    parser.add_argument("--no-callgrind", action="store_true", help="wall times only")
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("startup_compare: needs root (up and check make namespaces)", file=sys.stderr)
        return 2
    callgrind = not options.no_callgrind and measure.have("valgrind")
    signal.signal(signal.SIGTERM, _stop)
    work = Path(tempfile.mkdtemp(prefix="ks-startup-"))
    trees = [Tree("base", work / "base" / "tree", work / "base"), Tree("now", REPO, work / "now")]
    try:
        export(options.base, trees[0].root)
        for tree in trees:
            prepare(tree)
            bring_up(tree)
        print(f"base {options.base}, now {REPO} (working tree); {os.cpu_count()} CPUs; "
              f"instructions by callgrind, wall times medians of {options.repeats} interleaved runs")
        print(render_header(callgrind), flush=True)
        rows = measure_all(trees, scenario_name(REPO / EXAMPLE), options.repeats, callgrind)
    finally:
        take_down(trees)
        shutil.rmtree(work, ignore_errors=True)
    if options.json:
        Path(options.json).write_text(json.dumps({"base": options.base, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
