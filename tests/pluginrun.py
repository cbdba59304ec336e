"""Run pytest in a subprocess with kindscape installed as pip would install it, as far as
pytest can tell: a dist-info whose entry points are the ones pyproject.toml declares, so
the plugin loads through its `pytest11` entry point (not through our conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import kindscape
from tests.conftest import ROOT


def declared_entry_points() -> dict[str, dict[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["entry-points"]


def installed_site(where: Path) -> Path:
    """A directory that, on sys.path, makes kindscape's metadata and entry points visible."""
    info = where / "site" / f"kindscape-{kindscape.__version__}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: kindscape\nVersion: {kindscape.__version__}\n")
    sections = [f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())
                for group, entries in declared_entry_points().items()]
    (info / "entry_points.txt").write_text("\n".join(sections))
    return info.parent


def run_pytest(where: Path, *args: str, cwd: Path = ROOT, wrapper: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """pytest on files in `where` (its own empty ini: none of this suite's conftests),
    started through `wrapper` (e.g. setpriv) when given."""
    (where / "pytest.ini").write_text("[pytest]\n")
    site = installed_site(where)
    env = dict(os.environ, PYTHONPATH=f"{site}:{ROOT / 'src'}")
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([*wrapper, sys.executable, "-m", "pytest", "-c", str(where / "pytest.ini"),
                           "--rootdir", str(where), "-p", "no:cacheprovider", "-rs", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
