"""The import layering of docs/layout.md, read from the source (every module's AST, the
imports inside functions too), so that it stays true as the code changes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "kindscape"
RUNTIMES = ("netns", "kind")

# What a layer may not import (prefixes of module names).
TOP = ("kindscape.api", "kindscape.running", "kindscape.faults", "kindscape.cli", "kindscape.cliargs",
       "kindscape.cliparser", "kindscape.commands", "kindscape.commands_links", "kindscape.commands_run",
       "kindscape.commands_tools", "kindscape.quickcli", "kindscape.completion", "kindscape.capture",
       "kindscape.groupexec", "kindscape.pytest_plugin")
MACHINE = ("kindscape.linux", "kindscape.runtimes")
PURE = TOP + MACHINE + ("kindscape.probe", "kindscape.trace", "kindscape.render")
FORBIDDEN = {
    # the model and the planners: pure, no machine
    "kindscape.topology": PURE, "kindscape.scenario": PURE, "kindscape.plan": PURE,
    "kindscape.endpoints": PURE, "kindscape.sides": PURE, "kindscape.measures": PURE,
    "kindscape.codec": PURE, "kindscape.state": PURE, "kindscape.errors": PURE,
    "kindscape.runner": PURE, "kindscape.progress": PURE, "kindscape.privileges": PURE,
    "kindscape.links": PURE,
    # probes and trace's reasoning: no runtime (a runtime hands them what they need)
    "kindscape.probe": TOP + ("kindscape.runtimes", "kindscape.render", "kindscape.trace"),
    "kindscape.trace": TOP + MACHINE + ("kindscape.render",),
    # presentation: draws data, changes nothing
    "kindscape.render": TOP + MACHINE,
    # every runtime: no other runtime, nothing above it
    "kindscape.runtimes": TOP + ("kindscape.render",),
}
# The shared Linux layer imports nothing of kindscape but these.
LINUX_MAY_IMPORT = ("kindscape.linux", "kindscape.errors", "kindscape.runner", "kindscape.progress")


def _modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _defined(package: str) -> set[str]:
    """The names a package's __init__ defines at its top level (or lazily, by __all__)."""
    tree = ast.parse(MODULES[package].read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                names.update(ast.literal_eval(node.value))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """The kindscape modules `name` imports, resolved (`from .. import x` is module x when
    x is a module, else the package), and the modules its statements name (`import m`,
    `from m import x`: m must exist)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found, named = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            found.update(submodules or [base])
            named.add(base)
            if base in MODULES and MODULES[base].name == "__init__.py":  # from package import x
                named.update(f"{base}.{alias.name}" for alias in node.names
                             if f"{base}.{alias.name}" not in MODULES and alias.name not in _defined(base))
    mine = lambda modules: {m for m in modules if m == "kindscape" or m.startswith("kindscape.")}  # noqa: E731
    return mine(found), mine(named)


READ = {name: _imports(name, path) for name, path in MODULES.items()}
IMPORTS = {name: found for name, (found, _) in READ.items()}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_walk_sees_the_imports():
    """The rules below hold because the walk sees imports, also lazy ones in functions."""
    assert "kindscape.linux.nsfs" in IMPORTS["kindscape.probe.prober"]
    assert "kindscape.runtimes.netns.runtime" in IMPORTS["kindscape.runtimes"]  # inside provider()
    assert "kindscape.plan.link_faults" in IMPORTS["kindscape.runtimes.netns.runtime"]  # inside a method


def test_every_import_names_a_module_that_exists():
    """A moved module leaves no import of its old place (lazy ones would fail only when run)."""
    missing = [f"{name} imports {module}" for name, (_, named) in sorted(READ.items()) for module in sorted(named)
               if module not in MODULES]
    assert missing == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    wrong = [f"{name} imports {module}" for name, found in sorted(IMPORTS.items()) if _under(name, layer)
             for module in sorted(found) if any(_under(module, bad) for bad in FORBIDDEN[layer])
             and not (layer == "kindscape.runtimes" and _under(module, "kindscape.runtimes"))]
    assert wrong == []


def test_the_linux_layer_stands_on_nothing_of_kindscape():
    wrong = [f"{name} imports {module}" for name, found in sorted(IMPORTS.items()) if _under(name, "kindscape.linux")
             for module in sorted(found) if not any(_under(module, ok) for ok in LINUX_MAY_IMPORT)]
    assert wrong == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_nothing_outside_a_runtime_imports_its_modules(runtime):
    """Only the registry (`kindscape.runtimes.provider`) reaches in, for the runtime's
    entry point; shared machinery lives in linux/, plan/ or runtimes/base."""
    package = f"kindscape.runtimes.{runtime}"
    wrong = [f"{name} imports {module}" for name, found in sorted(IMPORTS.items()) if not _under(name, package)
             for module in sorted(found) if _under(module, package)
             and not (name == "kindscape.runtimes" and module == f"{package}.runtime")]
    assert wrong == []


# A runtime's parts have the same name in every runtime: its entry point, its planner,
# its operation types and what applies them.
PER_RUNTIME = {"runtime", "planner", "ops", "apply", "render"}


def test_no_module_names_collide():
    """Names say what a module is: no two modules share one (`__init__` aside), but for
    the parts every runtime has."""
    seen: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        if path.name != "__init__.py" and path.stem not in PER_RUNTIME:
            seen.setdefault(path.stem, []).append(name)
    assert {stem: names for stem, names in seen.items() if len(names) > 1} == {}
    # ... and those names are a runtime's only: e.g. no plan/ops.py beside the runtimes' ops.py
    elsewhere = [name for name, path in MODULES.items() if path.stem in PER_RUNTIME
                 and name.rpartition(".")[0] not in {f"kindscape.runtimes.{r}" for r in RUNTIMES}]
    assert elsewhere == []


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in IMPORTS.get(name, ()):
            if other not in MODULES or other == "kindscape":  # the package re-exports lazily
                continue
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == name:
                    break
            if len(group) > 1:
                found.append(sorted(group))
    for name in sorted(MODULES):
        if name not in index:
            visit(name)
    return found


def test_the_library_and_its_changes_of_links_import_each_other_not():
    """api calls faults with its Lab's runtime and topology; faults never reaches back."""
    assert not any("kindscape.api" in group and "kindscape.faults" in group for group in _cycles())
    assert "kindscape.api" not in IMPORTS["kindscape.faults"]
    assert "kindscape.running" not in IMPORTS["kindscape.faults"]  # the Lab's other half (running.py)


def _private_uses(name: str, path: Path) -> list[str]:
    """`from m import _x` and `module._x` where m, module are other kindscape modules."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    modules: dict[str, str] = {}  # local name -> kindscape module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    modules[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif alias.name.startswith("_") and not alias.name.startswith("__") and base != name:
                    found.append(f"{name} imports {base}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules \
                and node.attr.startswith("_") and not node.attr.startswith("__") and modules[node.value.id] != name:
            found.append(f"{name} uses {modules[node.value.id]}.{node.attr}")
    return found


def test_no_module_reaches_into_another_modules_private_names():
    """Shared code is public (e.g. plan/routing.routes_by_origin, rules.masquerade_exceptions):
    a planner or runtime never calls another module's `_helper`."""
    assert [use for name, path in sorted(MODULES.items()) for use in _private_uses(name, path)] == []
