"""The JSON Schema for editors: generated from the loader's models, shipped up to date,
valid draft 2020-12; it accepts every example and every KIND config the loader accepts,
and refuses broken files at the right place."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml

import kindscape
from kindscape.errors import ScenarioError
from kindscape.scenario import editor_schema, load_kind_config
from kindscape.scenario.schema import ScenarioSpec
from tests.conftest import EXAMPLES, KIND_CONFIGS, ROOT

VALIDATOR = jsonschema.Draft202012Validator(editor_schema.scenario_schema())


def _errors(document) -> list[tuple[str, str]]:
    return sorted((".".join(map(str, e.absolute_path)), e.message) for e in VALIDATOR.iter_errors(document))


def test_shipped_schema_is_the_generated_one():
    text = editor_schema.schema_text()
    if os.environ.get("KINDSCAPE_UPDATE_GOLDEN") == "1":
        editor_schema.SHIPPED.write_text(text)
    assert editor_schema.SHIPPED.read_text() == text, \
        "kindscape.schema.json is stale: run `kindscape schema > src/kindscape/kindscape.schema.json`"


def test_the_repository_copy_is_the_shipped_file():
    assert (ROOT / "kindscape.schema.json").resolve() == editor_schema.SHIPPED


def test_schema_command_prints_it():
    done = subprocess.run([sys.executable, "-m", "kindscape", "schema"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), check=True)
    assert json.loads(done.stdout) == editor_schema.scenario_schema()
    where = subprocess.run([sys.executable, "-m", "kindscape", "schema", "--path"], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), check=True)
    assert where.stdout.strip() == str(editor_schema.SHIPPED)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(editor_schema.scenario_schema())


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_is_valid(example):
    assert _errors(yaml.safe_load(example.read_text())) == []


def _scenario(**changes):
    document = yaml.safe_load((EXAMPLES / "multi-cluster.yaml").read_text())
    document.update(changes)
    return document


def test_a_broken_file_is_refused_where_it_is_broken():
    broken = _scenario(name="Multi_Cluster", extra=1)
    broken["clusters"][0]["podsPerNod"] = 2
    broken["clusters"][1]["config"]["networking"]["podSubnet"] = 10
    broken["interconnect"][0]["masquerade"] = "no"
    broken["expect"][0].pop("to")
    assert _errors(broken) == [
        ("", "Additional properties are not allowed ('extra' was unexpected)"),
        ("clusters.0", "Additional properties are not allowed ('podsPerNod' was unexpected)"),
        ("clusters.1.config.networking.podSubnet", "10 is not of type 'string', 'null'"),
        ("expect.0", "'to' is a required property"),
        ("interconnect.0.masquerade", "'no' is not of type 'boolean'"),
        ("name", "'Multi_Cluster' does not match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'"),
    ]


def test_kind_rules_are_in_the_schema():
    wrong = _scenario(apiVersion="kindscape/v1", kind="Cluster")
    wrong["clusters"][0]["config"]["nodes"][1]["role"] = "master"
    wrong["clusters"][0]["name"] = "clusterA"
    messages = dict(_errors(wrong))
    assert messages["apiVersion"] == "'kindscape/v1alpha1' was expected"
    assert messages["kind"] == "'Scenario' was expected"
    assert messages["clusters.0.config.nodes.1.role"] == "'master' is not one of ['control-plane', 'worker']"
    assert "does not match" in messages["clusters.0.name"]


def _accepted_by_the_loader(path) -> bool:
    try:
        load_kind_config(path)
    except ScenarioError:
        return False
    return True


ACCEPTED_KIND_CONFIGS = [p for p in sorted(KIND_CONFIGS.glob("*.yaml")) if _accepted_by_the_loader(p)]


def test_kinds_conformance_files_are_there():
    assert len(ACCEPTED_KIND_CONFIGS) >= 5


@pytest.mark.parametrize("config", ACCEPTED_KIND_CONFIGS, ids=lambda p: p.stem)
def test_kind_configs_the_loader_accepts_the_schema_accepts(config):
    document = _scenario()
    document["clusters"][0] = {"name": "cluster-a", "config": yaml.safe_load(config.read_text())}
    assert _errors(document) == []


def test_structure_the_loader_refuses_the_schema_refuses(tmp_path):
    for change in ({"networks": [{"name": "n", "subnet": "10.0.0.0/24", "mtu": 1500}]},
                   {"hosts": [{"name": "vm1", "networks": "kind"}]},
                   {"expect": [{"from": "a", "to": "b", "reachable": "yes"}]}):
        document = _scenario(**change)
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(document))
        with pytest.raises(kindscape.ScenarioError):
            kindscape.load(path)
        assert _errors(document), change


def _fields():
    schema = editor_schema.scenario_schema()
    models = dict(schema["$defs"], ScenarioSpec=schema)
    for model_name, model in models.items():
        for field in model.get("properties", {}):
            yield model_name, field, model["properties"][field]


def test_every_field_of_the_scenario_file_is_described():
    # KIND's own documents (KindCluster and below) describe their main fields only.
    kind_models = {"KindCluster", "KindNode", "Networking", "Mount", "PortMapping", "PatchJSON6902"}
    bare = [f"{m}.{f}" for m, f, prop in _fields() if m not in kind_models and "description" not in prop]
    assert not bare, f"add these to FIELD_DOCS in scenario/editor_schema.py: {bare}"


def test_every_description_belongs_to_a_field():
    known = {f"{m}.{f}" for m, f, _ in _fields()}
    assert set(editor_schema.FIELD_DOCS) <= known, set(editor_schema.FIELD_DOCS) - known


def test_the_models_are_what_the_schema_comes_from():
    assert editor_schema.scenario_schema()["properties"].keys() == \
        ScenarioSpec.model_json_schema(by_alias=True)["properties"].keys()
