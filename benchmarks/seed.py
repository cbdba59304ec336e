"""The seed example's up + check + down through the console script, each a new process.

    sudo python benchmarks/seed.py [-n 9] [--instructions] [--split]

Runs `kindscape up examples/multi-cluster.yaml`, `check`, `down` N times in turn (after
one round that fills `up`'s cache of resolved topologies, as any second `up` of a file
finds it) and prints each command's median wall time and CPU time (the process and the
children it waited for: on a quiet machine the wall time is close to it), with the load
average, since the machine may be shared. --instructions adds each command's instruction
count under valgrind's callgrind (the Python side; deterministic, so comparable across
runs on a busy machine). --split adds where each command's time goes: the interpreter's
start, its imports (`-X importtime`), and the rest (the work: load, plan, apply, probes,
removal; output, exit).

Byte-compiles kindscape first, as pip does for users (PYTHONDONTWRITEBYTECODE would
otherwise compile it on every start).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure  # noqa: E402
import startup  # noqa: E402

SEED = Path(__file__).resolve().parent.parent / "examples" / "multi-cluster.yaml"
NAME = "bench-seed"
STEPS = ("up", "check", "down")
TARGET = 0.3  # s: issue 17's target for up + check + down on a quiet machine


@dataclass
class Timed:
    wall: float
    cpu: float  # user + system of the process and of the children it waited for
    code: int
    stderr: str


def run(argv: list[str], env: dict[str, str]) -> Timed:
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        err.seek(0)
        return Timed(wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status),
                     err.read().decode(errors="replace"))


def commands(path: Path) -> dict[str, list[str]]:
    kindscape = measure.kindscape_command()
    return {"up": kindscape + ["up", str(path)], "check": kindscape + ["check", NAME],
            "down": kindscape + ["down", NAME]}


def user_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def seed_file(directory: Path) -> Path:
    path = directory / "bench-seed.yaml"
    path.write_text(SEED.read_text().replace("name: multi-cluster", f"name: {NAME}"))
    return path


def rounds(path: Path, repeats: int) -> dict:
    """N rounds of up, check, down after a first that fills the cache; medians."""
    argv, env = commands(path), user_env()
    subprocess.run(argv["down"], capture_output=True, env=env)  # a leftover of an interrupted run
    times: dict[str, list[Timed]] = {step: [] for step in STEPS}
    failures = []
    for index in range(repeats + 1):
        measure.settle(limit=3)
        done = {step: run(argv[step], env) for step in STEPS}
        failures += [f"{step} exit {t.code}: {t.stderr.strip()[-200:]}" for step, t in done.items() if t.code]
        if index:
            for step in STEPS:
                times[step].append(done[step])
    medians = {step: {"wall": statistics.median(t.wall for t in times[step]),
                      "cpu": statistics.median(t.cpu for t in times[step])} for step in STEPS}
    totals = [sum(times[step][i].wall for step in STEPS) for i in range(repeats)]
    medians["total"] = {"wall": statistics.median(totals),
                        "cpu": sum(medians[step]["cpu"] for step in STEPS)}
    return {"repeats": repeats, "median": medians, "best_total": min(totals), "failures": failures}


def instructions(path: Path) -> dict[str, int] | str:
    """Each command's instruction count under callgrind (the Python process; its children,
    nft and the workload server, are not counted)."""
    if not measure.have("valgrind"):
        return "valgrind is not installed"
    argv, env = commands(path), user_env()
    counts = {}
    for step in STEPS:
        done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv[step],
                              capture_output=True, text=True, env=env)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or not found:
            return f"{step} failed under valgrind: {done.stderr.strip()[-200:]}"
        counts[step] = int(found.group(1))
    counts["total"] = sum(counts.values())
    return counts


def split(path: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Per command, medians: wall, interpreter start (an empty program), imports beyond the
    interpreter's own (-X importtime), and the rest."""
    argv, env = commands(path), user_env(PYTHONPROFILEIMPORTTIME="1")
    start = statistics.median(run([sys.executable, "-c", ""], user_env()).wall for _ in range(repeats))
    site = statistics.median(startup.parse_importtime(run([sys.executable, "-X", "importtime", "-c", ""],
                                                          user_env()).stderr).total for _ in range(repeats))
    found: dict[str, dict[str, list[float]]] = {step: {"wall": [], "imports": []} for step in STEPS}
    for _ in range(repeats):
        measure.settle(limit=3)
        for step in STEPS:
            done = run(argv[step], env)
            found[step]["wall"].append(done.wall)
            found[step]["imports"].append(startup.parse_importtime(done.stderr).total - site)
    result = {}
    for step in STEPS:
        wall, imports = statistics.median(found[step]["wall"]), statistics.median(found[step]["imports"])
        result[step] = {"wall": wall, "interpreter": start, "imports": imports, "rest": wall - start - imports}
    return result


def render(figures: dict) -> str:
    med = figures["median"]
    lines = [f"seed example (examples/multi-cluster.yaml: 2 clusters, 11 namespaces), each command a new process "
             f"({' '.join(measure.kindscape_command())}), median of {figures['repeats']} after a first round; "
             f"load average {figures['load_before']} -> {figures['load_after']}",
             f"{'':8}{'wall s':>8}{'cpu s':>8}" + (f"{'instructions':>15}" if "instructions" in figures else "")]
    counts = figures.get("instructions")
    for step in STEPS + ("total",):
        count = f"{counts[step]:>15,}" if isinstance(counts, dict) else ""
        lines.append(f"{step:8}{med[step]['wall']:8.3f}{med[step]['cpu']:8.3f}{count}")
    if isinstance(counts, str):
        lines.append(f"instructions: {counts}")
    target = "MET" if med["total"]["wall"] <= TARGET else "MISS"
    lines.append(f"{target}  up + check + down <= {TARGET} s: {med['total']['wall']:.3f} s "
                 f"(best {figures['best_total']:.3f} s; cpu {med['total']['cpu']:.3f} s)")
    lines += [f"FAILED: {failure}" for failure in figures["failures"]]
    for step, parts in figures.get("split", {}).items():
        lines.append(f"  {step}: {parts['wall']:.3f} s = interpreter start {parts['interpreter']:.3f} + imports "
                     f"{parts['imports']:.3f} (-X importtime adds some) + work, output, exit {parts['rest']:.3f}")
    return "\n".join(lines)


def measure_seed(repeats: int, with_instructions: bool = False, with_split: bool = False) -> dict:
    """The figures (bench.py calls this too); kindscape byte-compiled first."""
    byte_compile()
    with tempfile.TemporaryDirectory(prefix="kindscape-seed-") as tmp:
        path = seed_file(Path(tmp))
        figures = {"load_before": measure.load(), **rounds(path, repeats)}
        if with_instructions:
            figures["instructions"] = instructions(path)
        if with_split:
            figures["split"] = split(path, repeats)
        figures["load_after"] = measure.load()
    return figures


def byte_compile() -> None:
    import compileall

    import kindscape
    compileall.compile_dir(str(Path(kindscape.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--repeats", type=int, default=9)
    parser.add_argument("--instructions", action="store_true", help="also count instructions (callgrind)")
    parser.add_argument("--split", action="store_true", help="also split each command's time")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the benchmark creates network namespaces: run it as root", file=sys.stderr)
        return 1
    print(render(measure_seed(args.repeats, args.instructions, args.split)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
