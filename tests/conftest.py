"""Test layers: unit (pure), golden (file in, plan or errors out), integration (root, real
namespaces), docker (real dockerd). Integration tests skip, saying why, when not root."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

from tests.machine import snapshot

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCENARIOS = ROOT / "tests" / "scenarios"  # scenarios the tests use beyond the examples
# KIND's own config test files, copied unchanged from the KIND project (see their README).
KIND_CONFIGS = ROOT / "tests" / "data" / "kind-configs"


def pytest_configure(config):
    # The code under test must be this checkout's: an editable install of another clone
    # would otherwise be what runs, and every test would report on the wrong code.
    import kindscape
    imported = Path(kindscape.__file__).resolve().parent
    if imported != ROOT / "src" / "kindscape":
        raise pytest.UsageError(f"kindscape is imported from {imported}, not from this checkout "
                                f"({ROOT / 'src'}): run ./scripts/setup here (pip install -e .)")
    # Tests run `kindscape` as a command too: the one installed beside this interpreter (the
    # checkout's .venv), not whatever else PATH finds first.
    scripts = Path(sys.executable).parent
    if (scripts / "kindscape").exists():
        os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"
    # Installed, kindscape's pytest plugin loads through its pytest11 entry point; run
    # from a checkout (PYTHONPATH=src) it has none, so load the same module here.
    manager = config.pluginmanager
    if not manager.has_plugin("kindscape") and not manager.is_blocked("kindscape"):
        manager.import_plugin("kindscape.pytest_plugin")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        if f"{os.sep}docker{os.sep}" in path:
            item.add_marker(pytest.mark.docker)


_machine_lock: list[int] = []


def pytest_runtest_setup(item):
    if item.get_closest_marker("integration") and os.geteuid() != 0:
        pytest.skip("needs root: creates real network namespaces")
    if (item.get_closest_marker("integration") or item.get_closest_marker("docker")) and not _machine_lock:
        # Tests that change the machine run one suite at a time per machine: the leak
        # checks compare the whole machine before and after.
        fd = os.open("/run/kindscape-tests.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _machine_lock.append(fd)


@pytest.fixture(scope="session")
def machine_before():
    """The machine's network and kindscape footprint before any integration test."""
    return snapshot()


@pytest.fixture
def no_leaks(machine_before):
    """Fails the test if it leaves anything behind (namespaces, links, rules, processes…)."""
    before = snapshot()
    yield
    after = snapshot()
    assert after.diff(before) == {}, f"left behind: {after.diff(before)}"
