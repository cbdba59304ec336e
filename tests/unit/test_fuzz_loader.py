"""Property-based tests of the loader: whatever the input (any text, any YAML document,
any mutation of the examples), the result is a Scenario or a ScenarioError whose every
problem is located, never another exception. A Scenario that loads must also plan,
with names the kernel and the filesystem accept (the loader must refuse the others)."""

from __future__ import annotations

import copy
import string

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kindscape import codec
from kindscape.errors import ScenarioError
from kindscape.runtimes.netns import ops
from kindscape.runtimes.netns import planner
from kindscape.probe import checks
from kindscape.probe.prober import ProbeResult
from kindscape.scenario import loads
from kindscape.topology import Topology
from tests.conftest import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
SEED_TEXT = (EXAMPLES / "multi-cluster.yaml").read_text()
EXAMPLE_DATA = [yaml.safe_load(path.read_text()) for path in EXAMPLE_FILES]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

IFNAMSIZ = 15  # bytes, without the terminating NUL
ALTIFNAMSIZ = 127
NAME_MAX = 255

# Values that have broken loaders elsewhere: path escapes, long names, kernel names,
# odd types, unicode, YAML's own surprises.
NASTY_STRINGS = ["", ".", "..", "../../etc/passwd", "/", "a/b", "a" * 300, "lo", "eth0", "all",
                 "default", "veth1", "br-kind", "kind", "docker-host", "ks.x.y", "x" * 16,
                 "ünïcödé", "a b", "a\nb", "\x00", "-", "*", "0.0.0.0/0", "::/0", "10.0.0.0/33",
                 "255.255.255.255", "1e9", "yes", "null", "~", "clusterA", "cluster-a",
                 "cluster-a/pods", "cluster-b-worker/pod1", "10.110.0.0/16", "172.18.0.0/16"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                    st.sampled_from(NASTY_STRINGS), st.integers(min_value=-1, max_value=300))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.text(max_size=12),
                                                            st.sampled_from(NASTY_STRINGS)),
                                                 inner, max_size=5)), max_leaves=30)


def _outcome(text: str):
    """Load `text`; returns the Scenario, or the ScenarioError (any other exception fails)."""
    try:
        return loads(text, "fuzz.yaml")
    except ScenarioError as exc:
        return exc


def _assert_result(text: str) -> None:
    outcome = _outcome(text)
    if isinstance(outcome, ScenarioError):
        assert outcome.problems, "a ScenarioError must say what is wrong"
        for problem in outcome.problems:
            assert problem.message.strip()
            assert problem.file == "fuzz.yaml"
            # Located: a line, unless the document is empty (there is no line to point at).
            assert problem.line is not None or not text.strip() or _empty(text), problem
            problem.render()
            problem.to_json()
        outcome.render()
        return
    _assert_usable(outcome.topology)


def _empty(text: str) -> bool:
    try:
        return yaml.safe_load(text) is None
    except yaml.YAMLError:
        return False


def _assert_usable(topology: Topology) -> None:
    """What `up`, the state file and `check` do with a loaded scenario must not fail."""
    plan = planner.plan(topology)
    _assert_names(plan)
    assert codec.decode(Topology, codec.encode(topology)) == topology
    report = checks.check(topology, lambda tasks: [ProbeResult(t) for t in tasks], everything=True)
    report.to_json()


def _assert_names(plan: ops.Plan) -> None:
    for ns in plan.namespaces():
        assert "/" not in ns and ns not in (".", "..") and len(ns.encode()) <= NAME_MAX, ns
        assert ns.isprintable() and " " not in ns, ns
    names: dict[str, set[str]] = {}
    for op in plan.ops:
        for ns, name in _links_made(op):
            assert 0 < len(name.encode()) <= IFNAMSIZ and _kernel_ifname_ok(name), (ns, name)
            assert name not in names.setdefault(ns, {"lo"}), f"two links named {name} in {ns}"
            names[ns].add(name)
    for op in plan.of(ops.Bridge):
        if op.alias and op.alias != op.name:
            assert len(op.alias.encode()) <= ALTIFNAMSIZ and _kernel_ifname_ok(op.alias), op.alias
            assert op.alias not in names[op.ns], f"altname {op.alias} clashes in {op.ns}"
            names[op.ns].add(op.alias)


def _links_made(op) -> list[tuple[str, str]]:
    if isinstance(op, ops.Bridge):
        return [(op.ns, op.name)]
    if isinstance(op, ops.Veth):
        return [(op.ns, op.name), (op.peer_ns, op.peer_name)]
    return []


def _kernel_ifname_ok(name: str) -> bool:
    # dev_valid_name(): not "." or "..", no '/', ':' or whitespace.
    return name not in (".", "..") and not any(c in name for c in "/:") and \
        not any(c.isspace() for c in name) and name.isprintable()


@FUZZ
@given(st.text(max_size=400))
@example("a: [")
@example("!!python/object:os.system ls")
@example("&a [*a]")
@example("a: &x [1]\nb: *x\n" * 3)
@example("\t")
@example("\ufeff")
def test_any_text(text):
    _assert_result(text)


@FUZZ
@given(documents)
def test_any_yaml_document(doc):
    _assert_result(yaml.safe_dump(doc, allow_unicode=True))


def _paths(node, prefix=()):
    """Every path into a document (keys and indexes), the root included."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutate(doc, path, kind: str, value):
    """Apply one mutation at `path`: replace, delete, duplicate, rename, or wrap."""
    if not path:
        return value if kind == "replace" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if kind == "replace":
        parent[last] = value
    elif kind == "delete":
        del parent[last]
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif kind == "rename" and isinstance(parent, dict) and isinstance(value, str):
        parent[value] = parent.pop(last)
    elif kind == "wrap":
        parent[last] = [parent[last]]
    return doc


@st.composite
def mutated_examples(draw):
    doc = copy.deepcopy(draw(st.sampled_from(EXAMPLE_DATA)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "rename", "wrap"]))
        doc = _mutate(doc, path, kind, draw(documents))
    return doc


@FUZZ
@given(mutated_examples())
def test_any_mutation_of_the_examples(doc):
    _assert_result(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@FUZZ
@given(st.sampled_from(EXAMPLE_FILES), st.data())
def test_any_edit_of_the_example_text(path, data):
    """Byte-level edits: deleted, inserted and replaced characters anywhere in the file."""
    text = path.read_text()
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        cut = data.draw(st.integers(min_value=0, max_value=8))
        insert = data.draw(st.text(alphabet=string.printable + "ü", max_size=8))
        text = text[:at] + insert + text[at + cut:]
    _assert_result(text)


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", "a" * 21, "A", "-a", "a-", "a.b", "a b", ""])
def test_scenario_names_that_could_escape_a_path_are_refused(name):
    text = SEED_TEXT.replace("name: multi-cluster", f"name: {name!r}", 1)
    with pytest.raises(ScenarioError) as caught:
        loads(text, "x.yaml")
    assert [p.path for p in caught.value.problems] == ["name"]
    assert caught.value.problems[0].line == 6


@pytest.mark.parametrize("network", ["lo", "eth0", "veth1", "br-kind", "a" * 65, "a/b", "..", "a:b"])
def test_network_names_the_kernel_would_refuse_or_confuse_are_refused(network):
    text = SEED_TEXT.replace(
        "clusters:\n", f"networks:\n  - name: {network!r}\n    subnet: 10.9.0.0/24\n\nclusters:\n", 1)
    outcome = _outcome(text)
    if isinstance(outcome, ScenarioError):
        assert any(p.path == "networks[0].name" for p in outcome.problems), outcome
    else:
        _assert_names(planner.plan(outcome.topology))
