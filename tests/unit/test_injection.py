"""The injection review's tests: a hostile value in each place where a scenario string
reaches something run as root - interface and namespace names, nft comments and set
elements, tc settings, paths under /etc/netns and /run, resolv.conf, the kind runtime's
docker/kind/kubectl arguments and manifests - is refused with a located problem, and
what every example plans carries no such value unquoted."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

import kindscape
from kindscape.errors import KindscapeError, ScenarioError
from kindscape.plan import clusterdns
from kindscape.runtimes.netns import ops
from kindscape.runtimes.kind.planner import Settings
from kindscape.runtimes.kind.planner import plan as kind_plan
from kindscape.runtimes.netns import planner, render
from kindscape.scenario import loads
from tests.conftest import EXAMPLES

HOSTILE = ['x" accept comment "y', "x\ndrop", "x; rm -rf /", "-rf", "--privileged", "../../etc", "a/b",
           "$(id)", "x y", "x\nnameserver 6.6.6.6", ".", "..", "\x1b[31mred", "x}", "a,b", "x*", "é" * 4]
SERVICES = yaml.safe_load((EXAMPLES / "services.yaml").read_text())
POLICIES = yaml.safe_load((EXAMPLES / "network-policies.yaml").read_text())
SEED = yaml.safe_load((EXAMPLES / "multi-cluster.yaml").read_text())


def _set(doc: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def _refused_at(doc: dict, path: str, tmp_path=None) -> None:
    with pytest.raises(ScenarioError) as info:
        loads(yaml.safe_dump(doc), "hostile.yaml", base_dir=tmp_path)
    paths = [p.path for p in info.value.problems]
    assert any(p == path or p.startswith(path + ".") or p.startswith(path + "[") for p in paths), (path, paths)
    for problem in info.value.problems:  # shown escaped, never raw (no terminal control, no new line)
        assert "\x1b" not in problem.render() and "\n" not in problem.render()


# Where each value goes: (document, path in it) -> the places it reaches.
PLACES = [
    (SEED, ("name",)),                                  # /run/kindscape/<name>, namespace prefix, nft tables
    (SEED, ("clusters", 0, "name")),                    # node names: netns, hostnames, docker/kind argv
    (SEED, ("hosts",), ),                               # host names: netns, docker container names
    (SERVICES, ("services", 0, "name")),                # nft comments, DNS records, manifests
    (SERVICES, ("services", 0, "namespace")),           # resolv.conf search path, nft comments, manifests
    (POLICIES, ("networkPolicies", 0, "policy", "metadata", "name")),  # nft comments "<ns>/<name> ... rule i"
    (POLICIES, ("namespaces", 0, "name")),              # nft comments, resolv.conf search path
    (POLICIES, ("workloads", 0, "name")),               # endpoint names, manifests
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("doc, path", PLACES)
def test_a_hostile_name_is_refused_where_it_is(doc, path, value):
    if path == ("hosts",):
        doc, path = _set(doc, ("hosts",), [{"name": value}]), ("hosts", 0, "name")
    target = _set(doc, path, value)
    _refused_at(target, ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "["))


@pytest.mark.parametrize("value", ["x;y", "a b", "br-x", "-rf", "lo", "veth1", "../x", "x" * 300, "a/b"])
def test_a_hostile_network_name_is_refused_or_becomes_no_interface_name(value):
    doc = _set(SEED, ("networks",), [{"name": value, "subnet": "172.30.0.0/24"}])
    try:
        scenario = loads(yaml.safe_dump(doc), "hostile.yaml")
    except ScenarioError as exc:
        assert any(p.path.startswith("networks[0]") for p in exc.problems)
        return
    for op in planner.plan(scenario.topology).of(ops.Bridge):  # a long name is an altname only
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", op.name) and not op.name.startswith("-"), op.name


@pytest.mark.parametrize("setting", ["25ms; tc qdisc del dev eth0 root", "1% loss 100%", "10mbit\n", "-1ms",
                                     "1e400ms", "nan%"])
def test_a_hostile_impairment_value_never_reaches_tc(setting):
    doc = _set(SEED, ("impairments",), [{"between": ["cluster-a", "cluster-b"], "delay": setting}])
    _refused_at(doc, "impairments[0].delay")


@pytest.mark.parametrize("domain", ["x\nnameserver 6.6.6.6", "a b", "-x", "x;y", "a" * 300])
def test_a_hostile_search_domain_never_reaches_resolv_conf(domain):
    doc = _set(SEED, ("clusters", 0, "config", "networking", "dnsSearch"), ["ok.example", domain])
    _refused_at(doc, "clusters[0].config.networking.dnsSearch[1]")


def test_a_mounted_host_path_is_confined_like_a_referenced_file(tmp_path):
    node = {"role": "control-plane", "extraMounts": [{"hostPath": "/", "containerPath": "/host"}]}
    doc = _set(SEED, ("clusters", 0, "config", "nodes"), [node])
    _refused_at(doc, "clusters[0].config.nodes[0].extraMounts[0].hostPath", tmp_path)
    inside = _set(doc, ("clusters", 0, "config", "nodes", 0, "extraMounts", 0, "hostPath"), "data")
    loads(yaml.safe_dump(inside), "hostile.yaml", base_dir=tmp_path)
    loads(yaml.safe_dump(doc), "hostile.yaml", base_dir=tmp_path, allow_outside_files=True)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_name_given_on_the_command_line_is_refused(value):
    with pytest.raises(KindscapeError):
        kindscape.load(EXAMPLES / "multi-cluster.yaml", name=value)


EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_what_the_examples_plan_is_quoted_and_confined(path):
    """Every nft comment is one quoted string without quotes or new lines inside; every
    file written lies in /etc/netns/<one namespace>/ and a resolv.conf has only resolver
    lines; every namespace name is one path component."""
    topology = kindscape.load(path).topology
    steps = planner.plan(topology)
    text = render.script(steps)
    for line in text.splitlines():
        assert line.count('comment "') == len(re.findall(r'comment "[^"\n\\]*"', line)), line
    for ns in steps.namespaces():
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", ns) and ns not in (".", ".."), ns
    for op in steps.of(ops.WriteFile):
        parts = op.path.split("/")
        assert op.path.startswith(clusterdns.RESOLV_DIR + "/") and len(parts) == 5 and parts[3] in steps.namespaces()
        for line in op.content.splitlines():
            assert re.match(r"^(# |nameserver [0-9a-f.:]+$|search [a-z0-9. -]+$|options [a-z0-9: ]+$)", line), line


@pytest.mark.parametrize("path", [EXAMPLES / "multi-cluster.yaml", EXAMPLES / "services.yaml"], ids=lambda p: p.stem)
def test_the_kind_runtimes_arguments_and_manifests_carry_names_as_values(path):
    """No argument made from a scenario name can be read as an option, and manifests are
    serialized (a name is a YAML value, never YAML text)."""
    topology = kindscape.load(path).topology
    names = {c.name for c in topology.clusters} | {n.name for n in topology.nodes} | {h.name for h in topology.hosts}
    for op in kind_plan(topology, Settings()).ops:
        argv = op.argv() if callable(getattr(op, "argv", None)) else []
        for arg in argv:
            assert not (arg.startswith("-") and arg.lstrip("-") in names), (op, arg)
        manifest = getattr(op, "manifest", None)
        if isinstance(manifest, str):
            yaml.safe_load_all(manifest)
