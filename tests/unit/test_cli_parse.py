"""The command line is built from one declaration per command (cliargs.py): argv reaches
the command's function as the keyword arguments it declares, usage errors exit 2, and the
commands scripts run most import neither typer nor pydantic."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from kindscape import cli, cliparser, quickcli
from kindscape.cliargs import COMMANDS


def _values(argv: list[str]) -> dict:
    spec, values = cli.parse(argv)
    values.pop("__verbose")
    assert spec.name == argv[0]
    return values


def test_every_declared_argument_is_a_parameter_of_its_function():
    cliparser.build_parser()
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


def _argparse_result(argv: list[str]):
    """What argparse makes of argv: (command name, values), or the exit status it ends with."""
    try:
        parsed = cliparser.parse(argv)
    except SystemExit as exc:
        return exc.code
    return None if parsed is None else (parsed[0].name, parsed[1])


def _sample_words(arg, rng) -> list[str]:
    if arg.flag:
        return [rng.choice(arg.flags)]
    value = rng.choice(list(arg.choices) + ["xml"] if arg.choices else
                       ["3", "0", "2.5", "-1", "soon"] if arg.type else ["lab", "-", "a b", "-x", ""])
    flag = rng.choice(arg.flags)
    return [f"{flag}={value}"] if flag.startswith("--") and rng.random() < 0.3 else [flag, value]


def _command_lines(spec, rng, count: int) -> list[list[str]]:
    """Random command lines of a command: its options (valid values or not, sometimes twice,
    abbreviated or unknown ones), -v, help, `--`, positionals too few or too many."""
    lines = []
    positionals = [arg for arg in spec.args if not arg.flags]
    options = [arg for arg in spec.args if arg.flags] + [cliparser.VERBOSE]
    for _ in range(count):
        words = [[w] for w in ["lab", "b.yaml", "c"][:rng.choice([0, 1, 1, 1, 2, 2, 3]) if positionals else 0]]
        for arg in rng.sample(options, rng.randint(0, len(options))):
            words.insert(rng.randint(0, len(words)), _sample_words(arg, rng))
            if rng.random() < 0.05:
                words.insert(rng.randint(0, len(words)), _sample_words(arg, rng))
        if rng.random() < 0.1:
            words.insert(rng.randint(0, len(words)), [rng.choice(["-h", "--", "--bogus", "--out", "-ojson", "-vv"])])
        lines.append([spec.name] + [w for each in words for w in each])
    return lines


def test_the_fast_path_takes_what_argparse_takes_the_same_way_and_leaves_it_the_rest(capsys):
    import random
    rng = random.Random(14)
    cliparser.build_parser()
    taken = 0
    for spec in COMMANDS.values():
        for argv in _command_lines(spec, rng, 150):
            fast = quickcli.parse(argv)
            if fast is not None:
                taken += 1
                assert _argparse_result(argv) == (fast[0].name, fast[1]), argv
    capsys.readouterr()
    assert taken > 500  # it is the fast path for most plain lines


@pytest.mark.parametrize("argv", [["status"], ["status", "-o", "json"], ["status", "lab"], ["list", "-o", "json"],
                                  ["check", "lab"], ["check", "lab", "-o", "json", "--timeout", "2"],
                                  ["up", "s.yaml", "-o", "json"], ["down", "lab", "-v"], ["down", "--all"]],
                         ids=" ".join)
def test_the_command_lines_scripts_run_take_the_fast_path(argv):
    assert quickcli.parse(argv) is not None
