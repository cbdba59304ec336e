"""The kind runtime on real KIND, for a user who has it (`./scripts/test-kind` runs this):
tests/docker/test_real_kind.py, then every example through `up --runtime kind`, `check`
and `down`, and a report to send back (printed, and written to test-kind-report.txt).

    python -m tests.docker.kind_report [--examples a.yaml,b.yaml] [--report PATH]

Exit status: 0 everything passed, 1 something failed, 2 it could not run here (it says why).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TAIL = 25  # lines of a failed step's output kept in the report
INSTALL = {"kind": "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
           "kubectl": "https://kubernetes.io/docs/tasks/tools/", "docker": "https://docs.docker.com/engine/install/"}


def _run(argv: list[str], timeout: float = 3600, env: dict | None = None) -> tuple[int, str, float]:
    start = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, **(env or {})})
        code, output = done.returncode, done.stdout + done.stderr
    except FileNotFoundError:
        code, output = 127, f"{argv[0]}: not found"
    except subprocess.TimeoutExpired:
        code, output = -1, f"timed out after {timeout:.0f} s"
    return code, output, time.monotonic() - start


def _first_line(argv: list[str]) -> str:
    code, output, _ = _run(argv, timeout=60)
    lines = output.strip().splitlines()
    return lines[0] if code == 0 and lines else f"(unavailable: {' '.join(argv)} exit {code})"


def missing() -> list[str]:
    """Why the real-KIND run cannot happen here, if it cannot."""
    found = [f"{tool} not found on PATH (install it: {where})" for tool, where in INSTALL.items()
             if shutil.which(tool) is None]
    if os.geteuid() != 0:
        found.append("needs root (run with sudo): the kind runtime enters the containers' namespaces")
    return found


def environment() -> list[str]:
    rev = _first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    return [f"kindscape: {rev}", f"python: {platform.python_version()}", f"kernel: {platform.release()}",
            f"kind: {_first_line(['kind', 'version'])}",
            f"kubectl: {_first_line(['kubectl', 'version', '--client'])}",
            f"docker: {_first_line(['docker', 'version', '--format', 'server {{.Server.Version}}, client {{.Client.Version}}'])}",
            f"docker context: {_first_line(['docker', 'context', 'show'])}"]


class Report:
    def __init__(self):
        self.lines: list[str] = []
        self.failed = 0

    def step(self, name: str, code: int, output: str, seconds: float, ok_codes=(0,)) -> bool:
        ok = code in ok_codes
        self.failed += not ok
        line = f"{'PASS' if ok else 'FAIL'} {name} ({seconds:.0f} s, exit {code})"
        print(line, flush=True)
        self.lines.append(line)
        if not ok:
            self.lines += [f"    | {text}" for text in output.strip().splitlines()[-TAIL:]]
        return ok


def pytest_step(report: Report) -> None:
    code, output, seconds = _run([sys.executable, "-m", "pytest", "-q", "-m", "kind", "-p", "no:cacheprovider",
                                  "tests/docker/test_real_kind.py"], env={"KINDSCAPE_REAL_KIND": "1"})
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    report.step(f"tests/docker/test_real_kind.py: {summary}", code, output, seconds)


def example_steps(report: Report, example: Path) -> None:
    name = yaml.safe_load(example.read_text())["name"]
    kindscape = [shutil.which("kindscape") or str(Path(sys.executable).parent / "kindscape")]
    label = example.relative_to(ROOT)
    try:
        if report.step(f"up {label}", *_run([*kindscape, "up", str(example), "--runtime", "kind"])):
            report.step(f"check {name}", *_run([*kindscape, "check", name]))
    finally:
        report.step(f"down {name}", *_run([*kindscape, "down", name], timeout=900))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", help="comma-separated files (default: every examples/*.yaml)")
    parser.add_argument("--report", default="test-kind-report.txt")
    args = parser.parse_args(argv)
    header = ["kindscape test-kind report", time.strftime("%Y-%m-%d %H:%M:%S %Z"), *environment(), ""]
    print("\n".join(header), flush=True)
    why = missing()
    report = Report()
    if why:
        report.lines += [f"SKIPPED: {reason}" for reason in why]
    else:
        pytest_step(report)
        files = [ROOT / f for f in args.examples.split(",")] if args.examples else sorted((ROOT / "examples").glob("*.yaml"))
        for example in files:
            example_steps(report, example)
        report.lines.append(f"\n{report.failed} step(s) failed" if report.failed else "\nall steps passed")
    text = "\n".join(header + report.lines) + "\n"
    Path(args.report).write_text(text, encoding="utf-8")
    print(f"\n{text}\nreport written to {args.report}: please send it back", flush=True)
    return 2 if why else (1 if report.failed else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
