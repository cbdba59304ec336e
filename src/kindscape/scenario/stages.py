"""The stages of loading a scenario: YAML -> strict schema -> KIND defaults -> semantic checks -> topology.

Every independent problem of a file is reported in one run. Only YAML that does not
parse stops at once. Structural problems (unknown keys, wrong types) are reported and the
offending keys taken out (salvage.py); the semantic checks then run on the rest, and
their problems about what was taken out (consequences, not problems of their own) are
dropped. A check joins by appending located problems to `ctx.problems` in
`_check_and_resolve`; that filtering applies to it as is. Allocation (`resolve`) runs
only on a file without problems: its results would be guesses otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import Problem, ScenarioError
from ..topology import Topology
from . import families, files, guards, impairments, policies, services, topology_checks, validate, workloads
from .kindconfig import ClusterNetwork, KindCluster, resolve_network
from .resolve import resolve
from .schema import ScenarioSpec
from .salvage import Undecidable, validate_salvaging
from .structure import validate_model
from .yamlsource import Locator, Path, format_path, parse_yaml


def validated(text: str, file: str | None, access: files.FileAccess,
              name: str | None) -> tuple[ScenarioSpec, Topology, list[Problem]]:
    """The spec, topology and warnings of a scenario's YAML text (see load.loads), or
    ScenarioError with every problem."""
    doc = parse_yaml(text, file)
    if doc.data is None and doc.problems:  # not YAML: nothing more is decidable
        raise ScenarioError(doc.problems, file)
    if not isinstance(doc.data, dict):
        raise ScenarioError([doc.locator.problem((), "the document must be a mapping",
                                                 None, "start with `apiVersion: kindscape/v1alpha1`")], file)
    if name is not None:
        doc.data["name"] = name
    spec, problems, undecidable = validate_salvaging(ScenarioSpec, doc.data, doc.locator)
    problems = doc.problems + problems  # duplicate keys, then the structure's problems
    if spec is None:
        raise ScenarioError(problems, file)
    topology, warnings = _check_and_resolve(spec, doc.locator, access, Found(problems, undecidable))
    return spec, topology, warnings


@dataclass
class Found:
    """What the stages before the semantic checks found: their problems, and what they
    made undecidable (salvage.py); the checks' problems about that are dropped."""

    problems: list[Problem]
    undecidable: Undecidable


def _check_and_resolve(spec: ScenarioSpec, locator: Locator, access: files.FileAccess,
                       found: Found) -> tuple[Topology, list[Problem]]:
    networks, paths, problems = _kind_configs(spec, locator, access, found.undecidable)
    ctx = validate.Context(spec, locator, networks, paths, problems, files=access)
    validate.check_names(ctx)
    parsed_networks = validate.check_networks(ctx)
    validate.check_overlaps(ctx, parsed_networks)
    validate.check_pod_capacity(ctx)
    validate.check_interconnects(ctx)
    families.check_interconnect_families(ctx)
    validate.check_host_refs(ctx, parsed_networks)
    validate.check_expect_refs(ctx)
    selected = validate.check_node_selects(ctx)
    workloads.check(ctx)
    ctx.policies = policies.check(ctx)
    services.check_services(ctx)
    impairments.check_values(ctx)
    ctx.problems = found.problems + found.undecidable.keep(ctx.problems)
    if ctx.problems:
        raise ScenarioError(ctx.problems, locator.file)
    topology = resolve(ctx, parsed_networks, selected)
    if topology is not None:
        topology_checks.check_topology_refs(ctx, topology)
        topology = impairments.resolve(ctx, topology)
        families.check_route_families(ctx, topology)
        families.check_expect_families(ctx, topology)
    if ctx.problems or topology is None:
        raise ScenarioError(ctx.problems, locator.file)
    return topology, ctx.warnings


def _kind_configs(spec: ScenarioSpec, locator: Locator, access: files.FileAccess, undecidable: Undecidable):
    """Each cluster's KIND config (inline or from its file) with KIND's defaults and rules."""
    networks: dict[int, ClusterNetwork | None] = {}
    paths: dict[int, Path] = {}
    problems: list[Problem] = []
    for index, cluster in enumerate(spec.clusters):
        config, config_locator, at = cluster.config, locator, ("clusters", index, "config")
        if cluster.configFile is not None and cluster.config is None:
            at = ("clusters", index, "configFile")
            config, config_locator = _read_kind_file(cluster.configFile, at, locator, access, problems)
        paths[index] = at
        networks[index] = None
        if config is not None and not undecidable.touches(at):  # else its nodes are unknown
            networks[index] = resolve_network(config, at, config_locator, problems)
            guards.check_kind_config(config, at, config_locator, access, problems)
    return networks, paths, problems


def _read_kind_file(name: str, at: Path, locator: Locator, access: files.FileAccess,
                    problems: list[Problem]) -> tuple[KindCluster | None, Locator]:
    try:
        text, file = access.read(name)
    except files.FileRefused as exc:
        problems.append(locator.problem(at, f"cannot read the KIND config file: {exc.reason}", name,
                                        exc.hint or "the path is relative to the scenario file"))
        return None, locator
    doc = parse_yaml(text, str(file))
    prefixed = Locator(str(file), {at + path: line for path, line in doc.locator.lines.items()})
    if doc.problems:
        problems += [Problem(_join(at, p.path), p.message, p.value, p.hint, p.line, str(file))
                     for p in doc.problems]
        return None, prefixed
    if not isinstance(doc.data, dict):
        problems.append(prefixed.problem(at, "a KIND config must be a mapping",
                                         None, "start with `kind: Cluster`"))
        return None, prefixed
    config, found = validate_model(KindCluster, doc.data, prefixed, at)
    problems += found
    return config, prefixed


def _join(at: Path, rest: str) -> str:
    head = format_path(at)
    return f"{head}.{rest}" if rest else head


def load_kind_config(path: str | os.PathLike) -> KindCluster:
    """Read one KIND config file on its own (as `kind create cluster --config` would)."""
    problems: list[Problem] = []
    config, locator = _read_kind_file(str(path), (), Locator(str(path)), files.access_for(None, True), problems)
    if config is not None:
        resolve_network(config, (), locator, problems)
    if problems:
        raise ScenarioError(problems, str(path))
    assert config is not None
    return config
