"""`up`'s cache of resolved topologies (scenario/cache.py): real files in a real (temporary)
state directory. A file validated before is a hit; any change to it, to a file it
references, to a confined path, to the options or to kindscape is a miss that validates in
full; a damaged or foreign entry is ignored and replaced, never trusted."""

from __future__ import annotations

import os

import pytest

import kindscape
from kindscape import codec
from kindscape import state as statefile
from kindscape.errors import ScenarioError
from kindscape.scenario import cache

SCENARIO = """apiVersion: kindscape/v1alpha1
kind: Scenario
name: cached
clusters:
  - name: a
    configFile: kind.yaml
networkPolicies:
  - {cluster: a, file: policy.yaml}
"""
KIND_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {podSubnet: 10.110.0.0/16, serviceSubnet: 10.115.0.0/16}
nodes:
  - role: control-plane
  - role: worker
"""
POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A scenario with a KIND config file and a policy file, and an empty state directory."""
    monkeypatch.setattr(statefile, "STATE_ROOT", str(tmp_path / "state"))
    os.makedirs(tmp_path / "state", mode=0o700)
    os.makedirs(cache.cache_dir(), mode=0o700)  # as root makes it (these tests need not be root)
    directory = tmp_path / "lab"
    directory.mkdir()
    (directory / "kind.yaml").write_text(KIND_CONFIG)
    (directory / "policy.yaml").write_text(POLICY)
    (directory / "scenario.yaml").write_text(SCENARIO)
    return directory


def _load(lab, **options) -> kindscape.Scenario:
    return cache.load(str(lab / "scenario.yaml"), **options)


def _entries() -> list[str]:
    return sorted(name for name in os.listdir(cache.cache_dir()) if not name.startswith("."))


def test_a_file_validated_before_is_taken_from_the_cache(lab):
    first = _load(lab)
    assert first.spec is not None and len(_entries()) == 1
    second = _load(lab)
    assert second.spec is None  # not validated again
    assert codec.encode(second.topology) == codec.encode(first.topology)
    assert (second.name, second.source, second.text) == (first.name, first.source, first.text)
    entry = os.path.join(cache.cache_dir(), _entries()[0])
    assert os.stat(entry).st_mode & 0o777 == 0o600 and os.stat(cache.cache_dir()).st_mode & 0o777 == 0o700


def test_a_changed_file_is_validated_again(lab):
    _load(lab)
    (lab / "scenario.yaml").write_text(SCENARIO.replace("name: cached", "name: cached-2"))
    changed = _load(lab)
    assert changed.spec is not None and changed.name == "cached-2"
    (lab / "scenario.yaml").write_text(SCENARIO + "bogus: 1\n")
    with pytest.raises(ScenarioError, match="bogus"):
        _load(lab)


def test_a_changed_referenced_file_is_validated_again(lab):
    first = _load(lab)
    (lab / "kind.yaml").write_text(KIND_CONFIG.replace("10.110.0.0/16", "10.120.0.0/16"))
    changed = _load(lab)
    assert changed.spec is not None
    assert changed.topology.clusters[0].pod_subnets != first.topology.clusters[0].pod_subnets
    (lab / "policy.yaml").write_text(POLICY.replace("name: deny", "name: Deny_"))
    with pytest.raises(ScenarioError, match="policy"):
        _load(lab)


def test_a_referenced_file_replaced_by_a_link_outside_is_refused_not_taken_from_the_cache(lab, tmp_path):
    _load(lab)
    outside = tmp_path / "outside.yaml"
    outside.write_text(KIND_CONFIG)  # the same bytes: only the confinement tells them apart
    (lab / "kind.yaml").unlink()
    (lab / "kind.yaml").symlink_to(outside)
    with pytest.raises(ScenarioError, match="outside the scenario's directory"):
        _load(lab)
    assert _load(lab, allow_outside_files=True).spec is not None  # another option: another entry


def test_a_mounted_path_that_moved_outside_is_refused_not_taken_from_the_cache(lab, tmp_path):
    mounted = KIND_CONFIG.replace("  - role: worker\n", "  - role: worker\n    extraMounts:\n"
                                  "      - {hostPath: data, containerPath: /data}\n")
    (lab / "kind.yaml").write_text(mounted)
    (lab / "data").mkdir()
    _load(lab)
    assert _load(lab).spec is None
    (lab / "data").rmdir()
    (lab / "data").symlink_to(tmp_path)
    with pytest.raises(ScenarioError, match="mounted path is outside"):
        _load(lab)


def test_another_name_or_another_kindscape_is_a_miss(lab, monkeypatch):
    _load(lab)
    renamed = _load(lab, name="other")
    assert renamed.spec is not None and renamed.name == "other"
    assert _load(lab, name="other").spec is None
    monkeypatch.setattr(kindscape, "__version__", "99.0")
    assert _load(lab).spec is not None
    assert len(_entries()) == 3


def test_a_changed_module_of_kindscape_is_a_miss(lab, monkeypatch):
    _load(lab)
    stamp = cache._stamp
    monkeypatch.setattr(cache, "_stamp", lambda path: stamp(path) + (["edited"] if path.endswith("resolve.py") else []))
    assert _load(lab).spec is not None


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not-json", "wrong-key", "bad-topology", "empty"])
def test_a_damaged_entry_is_ignored_and_replaced(lab, damage):
    _load(lab)
    path = os.path.join(cache.cache_dir(), _entries()[0])
    raw = open(path, "rb").read()
    header, _, body = raw.partition(b"\n")
    damaged = {"truncated": raw[:len(raw) // 2], "flipped": raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:],
               "not-json": b"not json\n{", "empty": b"",
               "wrong-key": _resealed(body.replace(os.path.basename(path).encode(), b"0" * 64)),
               "bad-topology": _resealed(body.replace(b'"clusters"', b'"clusterz"', 1))}[damage]
    with open(path, "wb") as handle:
        handle.write(damaged)
    assert _load(lab).spec is not None  # validated again, no traceback
    assert _load(lab).spec is None  # and the entry rebuilt


def _resealed(body: bytes) -> bytes:
    import hashlib
    import json
    return json.dumps({"sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n" + body


def test_an_entry_that_is_not_ours_alone_is_not_trusted(lab, tmp_path):
    _load(lab)
    path = os.path.join(cache.cache_dir(), _entries()[0])
    os.chmod(path, 0o644)  # readable, so anyone could have prepared it
    assert _load(lab).spec is not None
    os.replace(path, tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", path)  # a link is never followed
    assert _load(lab).spec is not None
    assert not os.path.islink(path)


def test_a_cache_directory_others_can_write_is_not_used(lab):
    os.chmod(cache.cache_dir(), 0o777)
    _load(lab)
    assert _load(lab).spec is not None and _entries() == []


def test_the_cache_is_bounded(lab, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for index in range(5):
        _load(lab, name=f"n{index}")
    assert len(_entries()) == 3
    assert _load(lab, name="n4").spec is None and _load(lab, name="n0").spec is not None


def test_standard_input_is_always_validated(lab, monkeypatch):
    monkeypatch.chdir(lab)  # its referenced files are relative to the working directory
    for _ in range(2):
        read, write = os.pipe()
        os.write(write, SCENARIO.encode())
        os.close(write)
        with os.fdopen(read) as stdin:
            monkeypatch.setattr("sys.stdin", stdin)
            assert cache.load("-").spec is not None
    assert _entries() == []
