"""No shell anywhere in src/: no shell=True, no os.system/os.popen (or their relatives),
and no command built as a string. Commands are argv lists (see runner.py). The checker
is tested on bad code too, so this test can fail."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

SRC = ROOT / "src" / "kindscape"
SHELL_FUNCTIONS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"),
                   ("subprocess", "getstatusoutput"), ("pty", "spawn")}
COMMAND_FUNCTIONS = {"run", "Popen", "call", "check_call", "check_output"}


def _dotted(node: ast.AST) -> tuple[str, ...]:
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + (node.attr,)
    return ()


def _stringy(node: ast.AST, assigned: dict[str, list[ast.AST]], seen: frozenset = frozenset()) -> bool:
    """Whether an expression is (or may be) a string: a command built as text."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _stringy(node.left, assigned, seen) or _stringy(node.right, assigned, seen)
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        return name[-1:] in (("format",), ("join",)) or name == ("str",)
    if isinstance(node, ast.Name) and node.id in assigned and node.id not in seen:
        return any(_stringy(value, assigned, seen | {node.id}) for value in assigned[node.id])
    return False


def _assignments(function: ast.AST) -> dict[str, list[ast.AST]]:
    found: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name) and node.value:
            found.setdefault(node.target.id, []).append(node.value)
    return found


def shell_uses(source: str, filename: str = "<code>") -> list[str]:
    """Every place in `source` that runs a shell or builds a command as a string."""
    tree = ast.parse(source, filename)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any((node.module, a.name) in SHELL_FUNCTIONS for a in node.names):
            problems.append(f"{filename}:{node.lineno}: imports a shell function from {node.module}")
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] or [tree]
    for scope in [tree] + scopes:
        assigned = _assignments(scope)
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            where = f"{filename}:{node.lineno}"
            if name[-2:] in SHELL_FUNCTIONS:
                problems.append(f"{where}: {'.'.join(name)} runs a shell")
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    problems.append(f"{where}: shell= other than False")
            if name and name[-1] in COMMAND_FUNCTIONS and node.args and _stringy(node.args[0], assigned):
                problems.append(f"{where}: {'.'.join(name)} gets a command built as a string")
    return sorted(set(problems))


def test_src_has_no_shell_and_no_string_commands():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += shell_uses(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


@pytest.mark.parametrize("code", [
    "import subprocess\nsubprocess.run(['ls'], shell=True)",
    "import subprocess\nsubprocess.Popen('ls -l', shell=1)",
    "import os\nos.system('ls')",
    "import os\nos.popen('ls').read()",
    "from os import system\nsystem('ls')",
    "import subprocess\nsubprocess.getoutput('ls')",
    "def f(x):\n    run(f'ip link del {x}')",
    "def f(x):\n    cmd = 'ip link del ' + x\n    run(cmd)",
    "def f(argv):\n    subprocess.check_output(' '.join(argv))",
    "def f(x):\n    cmd = 'nft -f %s' % x\n    other = cmd\n    runner.run(other)",
    "def f(x):\n    subprocess.call('ip {}'.format(x))",
])
def test_the_checker_catches_shells_and_string_commands(code):
    assert shell_uses(code)


@pytest.mark.parametrize("code", [
    "def f(x):\n    run(['ip', 'link', 'del', x])",
    "def f(ns):\n    argv = ['nsenter', f'--net={ns}', 'nft', '-f', '-']\n    run(argv, input='x')",
    "import subprocess\nsubprocess.run(['ls'], shell=False)",
    "def f(argv):\n    subprocess.Popen([sys.executable, '-m', 'x', *argv])",
])
def test_the_checker_accepts_argv_lists(code):
    assert shell_uses(code) == []
