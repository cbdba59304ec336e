"""Golden plans of the kind runtime: every example (and golden scenario) in, the
equivalent kind/docker/kubectl commands out. New examples are picked up automatically."""

from __future__ import annotations

import json

import pytest

from kindscape import api
from kindscape.errors import KindscapeError
from kindscape.runtimes.kind import render
from tests.golden.goldens import compare
from tests.conftest import EXAMPLES
from tests.golden.test_plans import SCENARIOS

ENVIRONMENT = ("KIND_EXPERIMENTAL_DOCKER_NETWORK", "KINDSCAPE_HOST_IMAGE", "KINDSCAPE_PROBE_IMAGE")


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    """Goldens show the defaults, whatever the developer's environment says."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_kind_plan_matches_golden(path) -> None:
    """Every example has a kind plan: the runtime builds Services and impairments too."""
    compare(f"{path.stem}.kind.plan", render.script(api.plan(path, "kind")))


def test_kind_plan_refuses_sctp_workload_ports(tmp_path) -> None:
    text = (EXAMPLES / "network-policies.yaml").read_text().replace(
        "{port: 53, protocol: UDP, name: dns}", "{port: 53, protocol: UDP, name: dns}\n      - {port: 9, protocol: SCTP}")
    (tmp_path / "sctp.yaml").write_text(text)
    with pytest.raises(KindscapeError, match="port 9/SCTP: the kind runtime serves workload ports on TCP and UDP only"):
        api.plan(tmp_path / "sctp.yaml", "kind")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_kind_plan_is_deterministic_and_json(path) -> None:
    plan = api.plan(path, "kind")
    assert plan == api.plan(path, "kind")
    assert json.loads(json.dumps(render.to_json(plan)))["ops"]
