"""KIND's own config test data: accept what KIND accepts (with its defaults), refuse what
it refuses, with a located message."""

from __future__ import annotations

from pathlib import Path

import pytest

from kindscape.errors import ScenarioError
from kindscape.scenario import load_kind_config, loads
from tests.conftest import KIND_CONFIGS

VALID = sorted(p for p in KIND_CONFIGS.glob("*.yaml") if "invalid" not in p.name)
INVALID = sorted(KIND_CONFIGS.glob("*invalid*.yaml"))


def test_the_conformance_set_is_present():
    assert len(VALID) >= 10 and len(INVALID) >= 5


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_kind_accepts_so_do_we(path: Path):
    config = load_kind_config(path)
    assert config.kind == "Cluster"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_config_works_as_a_scenario_cluster(path: Path, tmp_path):
    (tmp_path / "cluster.kind.yaml").write_text(path.read_text())
    scenario = loads("apiVersion: kindscape/v1alpha1\nkind: Scenario\nname: conf\n"
                     "clusters:\n  - name: c1\n    configFile: cluster.kind.yaml\n",
                     str(tmp_path / "s.yaml"), base_dir=tmp_path,
                     allow_outside_files=True)  # KIND's files mount absolute host paths (confined otherwise)
    cluster = scenario.topology.clusters[0]
    assert cluster.name == "c1"  # the config's own name is overridden, as `kind --name` does
    nodes = path.read_text().count("- role:") or 1
    assert len(cluster.nodes) == nodes
    if "ipFamily: ipv6" in path.read_text():
        assert [str(s) for s in cluster.pod_subnets] == ["fd00:10:244::/56"]
    else:
        assert [str(s) for s in cluster.pod_subnets] == ["10.244.0.0/16"]
        assert [str(s) for s in cluster.service_subnets] == ["10.96.0.0/16"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_kind_refuses_so_do_we(path: Path):
    with pytest.raises(ScenarioError) as caught:
        load_kind_config(path)
    assert all(p.line for p in caught.value.problems), caught.value.render()
