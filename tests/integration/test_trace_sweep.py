"""`trace` against real probes on every example and every trace test scenario: from every
pod, node, host and docker-host to every endpoint and every Service view, the verdict
(and, to an endpoint, the source seen) is what a real connection finds. About a minute:
`slow` (CI's second pass)."""

from __future__ import annotations

import pytest

import kindscape
from kindscape import endpoints
from tests.conftest import EXAMPLES, SCENARIOS
from tests.integration.test_trace import service_views, traces_agree_with_probes
from tests.machine import snapshot

pytestmark = pytest.mark.slow
FILES = sorted(EXAMPLES.glob("*.yaml")) + sorted(SCENARIOS.glob("trace-*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_trace_agrees_with_its_probe(path):
    before = snapshot()
    try:
        lab = kindscape.up(path)
    except kindscape.KindscapeError as exc:
        if "sch_netem" not in str(exc):
            raise
        pytest.skip(f"{path.name}: {exc}")  # refused before anything was made: names the feature
    try:
        everyone = endpoints.all_sources(lab.topology)
        targets = everyone + [endpoints.docker_host_endpoint(lab.topology)]
        results = traces_agree_with_probes(lab, targets + service_views(lab.topology))
        assert sum(r.reachable for r in results) > 0
    finally:
        lab.down()
    assert snapshot().diff(before) == {}
