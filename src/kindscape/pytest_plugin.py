"""kindscape's pytest plugin (registered through the `pytest11` entry point, so installing
kindscape is enough): the `kindscape_lab` fixture brings scenarios up for a test and
always takes them down after it, whether the test passed, failed or errored.

    def test_pods_reach_each_other(kindscape_lab):
        lab = kindscape_lab("scenarios/multi-cluster.yaml")
        assert lab.check().ok

Tests that use the fixture get the `kindscape` marker (deselect them with
`-m "not kindscape"`); they are skipped, with the reason, when the netns runtime
cannot run (it needs root, with CAP_NET_ADMIN and CAP_SYS_ADMIN: a container or
`setpriv` can take those from root).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .api import Lab
    from .scenario import Scenario

MARKER = "kindscape"
NOT_ROOT = "kindscape_lab needs root: the netns runtime creates network namespaces (run pytest with sudo)"

LabFactory = Callable[..., "Lab"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: brings kindscape scenarios up (needs root); "
                                       "added to every test that uses the kindscape_lab fixture")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kindscape_lab" in getattr(item, "fixturenames", ()):
            item.add_marker(MARKER)


@pytest.fixture
def kindscape_lab() -> Iterator[LabFactory]:
    """A factory: `kindscape_lab(path_or_scenario, runtime="netns", name=None)` brings a
    scenario up and returns its `kindscape.Lab`; `name` runs a file under another name, so
    parallel workers (pytest-xdist) can share one file, e.g. name=f"lab-{worker_id}". Every scenario it brought up is taken down after the
    test, in reverse order, even when the test failed; a failure to take one down fails
    the test's teardown after the others were still taken down. Without root, asking
    for a netns scenario skips the test, saying why."""
    from . import api
    from .errors import PrivilegeError

    labs: list[Lab] = []

    def bring_up(scenario: "Scenario | str | os.PathLike", runtime: str = "netns",
                 name: str | None = None) -> "Lab":
        try:
            lab = api.up(scenario, runtime=runtime, name=name)
        except PrivilegeError as exc:  # refused before anything was made: root, capabilities
            pytest.skip(f"{NOT_ROOT}; {exc}")
        labs.append(lab)
        return lab

    try:
        yield bring_up
    finally:
        _take_down(labs)


def _take_down(labs: list["Lab"]) -> None:
    errors = []
    for lab in reversed(labs):
        try:
            lab.down()
        except Exception as exc:  # keep going: every other lab must still come down
            errors.append(f"{lab.name}: {exc}")
    if errors:
        pytest.fail("kindscape_lab could not take down: " + "; ".join(errors), pytrace=False)
