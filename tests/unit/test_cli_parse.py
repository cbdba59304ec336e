"""The command line is built from one declaration per command (cliargs.py): argv reaches
the command's function as the keyword arguments it declares, usage errors exit 2, and the
commands scripts run most import neither typer nor pydantic."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from kindscape import cli
from kindscape.cliargs import COMMANDS


def _values(argv: list[str]) -> dict:
    spec, values = cli.parse(argv)
    values.pop("__verbose")
    assert spec.name == argv[0]
    return values


def test_every_declared_argument_is_a_parameter_of_its_function():
    cli.build_parser()
    for spec in COMMANDS.values():
        parameters = inspect.signature(spec.function).parameters
        declared = [arg.dest for arg in spec.args]
        assert len(declared) == len(set(declared)), spec.name
        keywords = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        named = [name for name, p in parameters.items() if p.kind is not p.VAR_KEYWORD]
        assert set(named) <= set(declared) and (keywords or set(named) == set(declared)), spec.name


@pytest.mark.parametrize(("argv", "expected"), [
    (["up", "s.yaml"], {"file": "s.yaml", "runtime": "netns", "rename": None, "output": "table", "allow_outside_files": False}),
    (["up", "--output=json", "-", "-r", "kind", "--name", "copy"],
     {"file": "-", "runtime": "kind", "rename": "copy", "output": "json", "allow_outside_files": False}),
    (["check", "--timeout", "2.5", "lab", "-o", "yaml", "--all"],
     {"name": "lab", "all": True, "timeout": 2.5, "measure": False, "probes": 20, "explain": False,
      "output": "yaml", "expect": None}),
    (["check", "lab", "--measure", "--probes", "5"],
     {"name": "lab", "all": False, "timeout": 1.0, "measure": True, "probes": 5, "explain": False,
      "output": "table", "expect": None}),
    (["down"], {"name": None, "all": False, "force": False, "output": "table"}),
    (["down", "--all", "-o", "json"], {"name": None, "all": True, "force": False, "output": "json"}),
    (["status"], {"name": None, "output": "table"}),
    (["validate", "a.yaml", "-", "b.yaml"], {"files": ["a.yaml", "-", "b.yaml"], "output": "table", "allow_outside_files": False}),
    (["exec", "lab", "cluster-a/pods", "--", "ip", "-o", "route"],
     {"name": "lab", "endpoint": "cluster-a/pods", "command": ["ip", "-o", "route"]}),
    (["exec", "lab", "pod", "ls", "-l"], {"name": "lab", "endpoint": "pod", "command": ["ls", "-l"]}),
    (["capture", "lab", "pod", "-w", "-", "-c", "3", "tcp", "port", "8080"],
     {"name": "lab", "endpoint": "pod", "interface": None, "write": "-", "count": 3, "seconds": None,
      "filter": ["tcp", "port", "8080"]}),
], ids=lambda each: " ".join(each) if isinstance(each, list) else "")
def test_argv_reaches_the_function_as_declared(argv, expected):
    if argv[0] == "check" and "expect" not in {a.dest for a in COMMANDS.get("check", None).args}:
        expected = {k: v for k, v in expected.items() if k != "expect"}
    assert _values(argv) == expected


def test_verbose_before_or_after_the_command():
    assert cli.parse(["-v", "status"])[1]["__verbose"] is True
    assert cli.parse(["status", "--verbose"])[1]["__verbose"] is True
    assert cli.parse(["status"])[1]["__verbose"] is False


@pytest.mark.parametrize("argv", [
    ["up"], ["up", "a.yaml", "b.yaml"], ["up", "s.yaml", "--bogus"], ["up", "s.yaml", "-o"],
    ["check", "lab", "-o", "xml"], ["check", "lab", "--timeout", "soon"], ["check", "lab", "--timeout", "0"],
    ["check", "lab", "--probes", "0"], ["down", "a", "b"], ["status", "a", "b"], ["nothing"],
    ["up", "s.yaml", "--runtime", "docker"], ["capture", "lab", "pod", "-c", "x"],
], ids=" ".join)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.parse(argv)
    assert exit.value.code == 2
    assert "usage: kindscape" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["status"], ["status", "-o", "json"], ["down", "--all"], ["list"],
                                  ["check", "nothing"], ["up", "/no/such/scenario.yaml", "-o", "json"]],
                         ids=" ".join)
def test_the_commands_scripts_run_most_import_no_typer_or_pydantic(argv, tmp_path):
    """(`up` of a file it cannot read never loads the validator: the file is read first.)"""
    program = ("import sys\nfrom kindscape import cli\n"
               f"try:\n    cli.main({argv!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
               "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'pydantic'}))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env={"KINDSCAPE_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    last = done.stdout.strip().splitlines()[-1]
    code = {"check": 3, "up": 1}.get(argv[0], 0)
    assert last == f"{code} []", done.stdout + done.stderr


@pytest.mark.parametrize(("argv", "error"), [
    (["check", "lab", "--bogus", "-o", "json"], "kindscape: unrecognized arguments: --bogus"),
    (["check", "-o", "json"], "kindscape check: the following arguments are required: NAME"),
    (["status", "--output=json", "a", "b"], "kindscape: unrecognized arguments: b"),
], ids=" ".join)
def test_usage_errors_asked_for_json_are_json_on_stdout(argv, error, capsys):
    import json
    with pytest.raises(SystemExit) as exit:
        cli.parse(argv)
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and err == ""
    assert json.loads(out) == {"ok": False, "error": error}


def test_help_lists_the_commands_in_lifecycle_order_and_says_where_root_is_needed(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.parse(["--help"])
    text = capsys.readouterr().out
    assert exit.value.code == 0
    listed = [line.split()[0] for line in text.split("Commands:\n")[1].split("\n\n")[0].splitlines()]
    assert listed == ["validate", "plan", "up", "check", "trace", "status", "list", "exec", "capture", "impair",
                      "partition", "heal", "graph", "down", "schema", "completion"]
    root = {line.split()[0] for line in text.splitlines() if line.endswith("(root)")}
    assert root == {"up", "check", "trace", "status", "list", "exec", "capture", "impair", "partition", "heal",
                    "down"}
    for spec in COMMANDS.values():  # every argument documented
        assert all(arg.help for arg in spec.args), spec.name
