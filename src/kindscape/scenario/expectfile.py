"""Expectation sets for `check --expect`: a set the scenario file names under `expectWhen`,
or a file of expectations (`expect: [...]`, as in a scenario file), checked against the
running scenario's endpoints with the file's own grammar and located errors."""

from __future__ import annotations

import ipaddress

from pydantic import Field

from .. import endpoints
from ..errors import KindscapeError, Problem, ScenarioError
from ..topology import Expectation, Topology
from . import files
from .resolve import expectation as resolved
from .schema import ExpectSpec, StrictSpec
from .structure import validate_model
from .yamlsource import parse_yaml


class ExpectationFile(StrictSpec):
    expect: list[ExpectSpec] = Field(default_factory=list)


def expectations(topology: Topology, wanted: str) -> tuple[Expectation, ...]:
    """The expectations `check --expect WANTED` verifies: the set of that name in the
    scenario, else the file at that path."""
    for each in topology.expectation_sets:
        if each.name == wanted:
            return each.expectations
    if "/" not in wanted and "." not in wanted:
        known = ", ".join(each.name for each in topology.expectation_sets) or "none"
        raise KindscapeError(f"no expectation set {wanted!r} in scenario {topology.scenario} "
                             f"(its expectWhen sets: {known}); or give a file of expectations")
    return load(topology, wanted)


def load(topology: Topology, path: str) -> tuple[Expectation, ...]:
    try:
        text = files.read_text(path)
    except files.FileRefused as exc:
        raise ScenarioError([Problem("", f"cannot read the file: {exc.reason}", None, exc.hint)], path) from None
    doc = parse_yaml(text, path)
    if doc.problems:
        raise ScenarioError(doc.problems, path)
    spec, problems = validate_model(ExpectationFile, doc.data, doc.locator)
    if spec is None:
        raise ScenarioError(problems, path)
    names = endpoints.Names.of(topology)
    for index, item in enumerate(spec.expect):
        for key, selector in _selectors(item):
            try:
                endpoints.parse(selector, names)
            except endpoints.EndpointError as exc:
                problems.append(doc.locator.problem(("expect", index, key), str(exc), selector, exc.hint))
    if problems:
        raise ScenarioError(problems, path)
    return tuple(resolved(item) for item in spec.expect)


def _selectors(item: ExpectSpec) -> list[tuple[str, str]]:
    found = [("from", item.from_), ("to", item.to)]
    if item.seenSource is not None and not _is_address(item.seenSource):
        found.append(("seenSource", item.seenSource))
    return found + [("answeredBy", backend) for backend in item.answeredBy or ()]


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
