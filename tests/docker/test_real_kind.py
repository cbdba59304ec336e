"""The kind runtime on real KIND: runs where the `kind` binary, kubectl and a node image
are available (see the README, "Running the real-KIND tests"); skipped elsewhere, saying why.
These create real clusters: minutes, not seconds."""

from __future__ import annotations

import os
import shutil

import pytest

import kindscape
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.kind


@pytest.fixture
def real_kind(docker_client):
    missing = [tool for tool in ("kind", "kubectl") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} on PATH and a KIND node image "
                    "(this machine has neither; see the README)")
    if os.environ.get("KINDSCAPE_REAL_KIND") != "1":
        pytest.skip("creates real KIND clusters: set KINDSCAPE_REAL_KIND=1 to run")


def test_page_example_on_real_kind(real_kind):
    with kindscape.up(EXAMPLES / "multi-cluster.yaml", runtime="kind") as lab:
        report = lab.check(timeout=3.0)
        assert report.ok, report.failures
        assert lab.status()["healthy"]


def test_isolated_example_on_real_kind(real_kind):
    with kindscape.up(EXAMPLES / "multi-cluster-isolated.yaml", runtime="kind") as lab:
        assert lab.check(timeout=3.0).ok
