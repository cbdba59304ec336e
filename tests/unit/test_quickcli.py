"""The fast path for up/check/down/status gives the command functions exactly what the
typer app would, and leaves everything else to typer."""

from __future__ import annotations

import functools

import pytest

from kindscape import cli, commands, quickcli

SAME = [
    ["up", "s.yaml"], ["up", "s.yaml", "-o", "json"], ["up", "--output=json", "s.yaml"],
    ["up", "s.yaml", "-r", "kind", "--output", "table"], ["up", "--runtime=netns", "s.yaml"],
    ["check", "lab"], ["check", "lab", "--all"], ["check", "--timeout", "2.5", "lab", "-o", "json"],
    ["check", "lab", "--timeout=0.3", "--all", "--output", "table"],
    ["check", "lab", "--measure"], ["check", "--explain", "lab", "--all", "--measure", "-o", "json"],
    ["up", "s.yaml", "--runtime", "kind"],
    ["down", "lab"], ["down", "lab", "-o", "json"], ["down"], ["down", "--all"], ["down", "--all", "-o", "json"],
    ["status"], ["status", "lab"], ["status", "-o", "json"], ["status", "lab", "--output=json"],
]
TYPER_ONLY = [
    [], ["--help"], ["up", "--help"], ["up"], ["up", "a.yaml", "b.yaml"], ["up", "s.yaml", "--bogus"],
    ["up", "s.yaml", "-o"], ["check", "lab", "-o", "yaml"], ["check", "lab", "--timeout", "soon"],
    ["check", "lab", "-o", "json", "-o", "table"], ["check", "lab", "--all=1"], ["validate", "s.yaml"],
    ["exec", "lab", "pod", "--", "ip", "route"], ["down", "a", "b"], ["status", "a", "b"],
    ["check", "lab", "--measure", "--probes", "5"], ["check", "lab", "--probes", "0"],
    ["check", "lab", "--explain", "--explain"], ["up", "s.yaml", "--runtime", "docker"],
    ["trace", "lab", "a", "b"], ["graph", "lab", "-o", "x.svg"], ["schema"], ["impair", "lab", "a", "b"],
]


def _typer_values(argv: list[str]) -> dict:
    """What typer passes to the command function for argv (the function itself not run)."""
    captured: dict = {}
    info = next(i for i in cli.app.registered_commands if i.callback.__name__ == argv[0])
    original = info.callback

    @functools.wraps(original)
    def capture(**values):
        captured.update(values)
    info.callback = capture
    try:
        cli.app(argv, standalone_mode=False)
    finally:
        info.callback = original
    return captured


def _quick_values(argv: list[str]) -> dict:
    parsed = quickcli.parse(argv)
    assert parsed is not None and parsed[0] == argv[0]
    function = getattr(commands, argv[0])
    values = quickcli._converted(function, parsed[1])
    assert values is not None
    defaults = {name: p.default for name, p in __import__("inspect").signature(function).parameters.items()}
    return {**defaults, **values}


@pytest.mark.parametrize("argv", SAME, ids=" ".join)
def test_fast_path_matches_typer(argv: list[str]) -> None:
    assert _quick_values(argv) == _typer_values(argv)


@pytest.mark.parametrize("argv", TYPER_ONLY, ids=lambda a: " ".join(a) or "(nothing)")
def test_everything_else_goes_to_typer(argv: list[str]) -> None:
    parsed = quickcli.parse(argv)
    assert parsed is None or quickcli._converted(getattr(commands, argv[0]), parsed[1]) is None


@pytest.mark.parametrize(("argv", "code"), [
    (["status"], 0), (["status", "-o", "json"], 0), (["down", "--all"], 0),
    (["check", "nothing"], 1), (["up", "/no/such/scenario.yaml", "-o", "json"], 1),
], ids=["status", "status-json", "down-all", "check-unknown", "up-missing-file"])
def test_the_fast_path_does_not_import_typer(argv, code, tmp_path):
    """up/check/down/status start without typer (~40 ms of every start), also when they
    fail with a user error; their exit codes are the commands' own."""
    import subprocess
    import sys
    program = ("import sys\nfrom kindscape import quickcli\n"
               f"code = quickcli.run({argv!r})\n"
               "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env={"KINDSCAPE_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{code} []", done.stdout + done.stderr
