"""How the tool's rulesets explain themselves to `trace` (pure): kindnet's masquerade and
its interconnect exceptions, Docker's masquerade and isolation, and the rules named by
each decision really being rules the plan installs."""

from __future__ import annotations

import ipaddress

import pytest

import kindscape
from kindscape.runtimes.netns import ops
from kindscape.runtimes.netns import planner
from kindscape.plan.decide import Action, Hook, InstalledRuleset, Packet, Place
from kindscape.plan.rules_explain import DockerNetworks, KindnetMasquerade
from kindscape.runtimes.netns.introspect import parse_ruleset
from kindscape.trace.rulesets import EXPLAINERS, consult, unexplained_tables
from tests.conftest import EXAMPLES
from tests.conftest import SCENARIOS
ip = ipaddress.ip_address


def _topology(path):
    return kindscape.load(path).topology


def _packet(src, dst, port=8080):
    return Packet(ip(src) if src else None, ip(dst), port)


def _node_place(topology, name, iif="vpod1", oif="eth0", reply=False):
    node = topology.node(name)
    return Place(node.netns, node.name, "node", iif, oif, reply)


@pytest.fixture(scope="module")
def interconnected():
    return _topology(EXAMPLES / "multi-cluster.yaml")


@pytest.fixture(scope="module")
def hosts():
    return _topology(SCENARIOS / "trace-hosts.yaml")


def test_kindnet_keeps_the_source_within_the_cluster(interconnected):
    place = _node_place(interconnected, "cluster-a-worker")
    decision = KindnetMasquerade().decide(interconnected, place, Hook.POSTROUTING,
                                          _packet("10.110.1.2", "10.110.0.2"))
    assert (decision.action, decision.rule) == (Action.ACCEPT, "KIND-MASQ-AGENT: cluster podSubnet")


def test_kindnet_keeps_the_source_to_an_interconnected_cluster(interconnected, hosts):
    packet = _packet("10.110.1.2", "10.220.1.2")
    kept = KindnetMasquerade().decide(interconnected, _node_place(interconnected, "cluster-a-worker"),
                                      Hook.POSTROUTING, packet)
    assert (kept.action, kept.rule) == (Action.ACCEPT, "interconnect: no masquerade")
    natted = KindnetMasquerade().decide(hosts, _node_place(hosts, "cluster-a-worker"), Hook.POSTROUTING, packet)
    assert natted.action is Action.MASQUERADE and natted.table == "inet kindnet"


def test_kindnet_only_decides_first_packets_leaving_nodes(interconnected):
    explainer = KindnetMasquerade()
    packet = _packet("10.110.1.2", "172.18.0.6")
    node = _node_place(interconnected, "cluster-a-worker")
    assert explainer.decide(interconnected, node, Hook.FORWARD, packet) is None
    assert explainer.decide(interconnected, _node_place(interconnected, "cluster-a-worker", reply=True),
                            Hook.POSTROUTING, packet) is None
    docker = Place(interconnected.docker_host.netns, "docker-host", "docker-host")
    assert explainer.decide(interconnected, docker, Hook.POSTROUTING, packet) is None


def test_docker_isolates_networks_and_masquerades_what_leaves_one(hosts):
    explainer = DockerNetworks()
    place = Place(hosts.docker_host.netns, "docker-host", "docker-host", "br-kind", "br-my-net2")
    dropped = explainer.decide(hosts, place, Hook.FORWARD, _packet("172.18.0.6", "172.16.17.2"))
    assert (dropped.action, dropped.rule) == (Action.DROP, "docker isolation: kind to my-net2")
    bridged = Place(place.ns, "docker-host", "docker-host", "br-kind", "br-kind", bridged=True)
    assert explainer.decide(hosts, bridged, Hook.FORWARD, _packet("172.18.0.6", "172.18.0.2")) is None
    masq = explainer.decide(hosts, place, Hook.POSTROUTING, _packet("172.18.0.6", "172.16.17.2"))
    assert (masq.action, masq.rule) == (Action.MASQUERADE, "network kind: enable_ip_masquerade")
    same = Place(place.ns, "docker-host", "docker-host", "br-kind", "br-kind")
    assert explainer.decide(hosts, same, Hook.POSTROUTING, _packet("172.18.0.6", "172.18.0.2")) is None


def _planned(topology) -> dict[str, InstalledRuleset]:
    """What the plan installs, per namespace, read as the kernel would list it."""
    found: dict[str, dict[str, set[str]]] = {}
    for op in planner.plan(topology).of(ops.Ruleset):
        family = op.text.split()[1]
        comments = {line.split('comment "', 1)[1].rstrip('"') for line in op.text.splitlines()
                    if 'comment "' in line}
        found.setdefault(op.ns, {})[f"{family} {op.table}"] = comments
    return {ns: InstalledRuleset({t: frozenset(c) for t, c in tables.items()}) for ns, tables in found.items()}


@pytest.mark.parametrize("path", [EXAMPLES / "multi-cluster.yaml", SCENARIOS / "trace-hosts.yaml"])
def test_every_rule_a_decision_names_is_a_rule_the_plan_installs(path):
    topology = _topology(path)
    installed = _planned(topology)
    destinations = ["10.110.0.2", "10.220.1.2", "172.18.0.6", "172.16.17.2", "10.115.0.1"]
    decided = 0
    for node in topology.nodes:
        for dst in destinations:
            found = consult(topology, installed[node.netns], _node_place(topology, node.name),
                            Hook.POSTROUTING, _packet(str(node.pods[0].addresses[0]), dst))
            assert found.warnings == []
            decided += len(found.decisions)
    docker = topology.docker_host.netns
    for oif in ("br-kind", "br-my-net2"):
        place = Place(docker, "docker-host", "docker-host", "br-kind", oif)
        for hook in (Hook.FORWARD, Hook.POSTROUTING):
            found = consult(topology, installed[docker], place, hook, _packet("172.18.0.6", "172.16.17.2"))
            assert found.warnings == []
            decided += len(found.decisions)
    assert decided >= len(topology.nodes) * len(destinations)


def test_explainers_are_consulted_only_where_their_table_is_installed(hosts):
    place = _node_place(hosts, "cluster-a-worker")
    packet = _packet("10.110.1.2", "172.18.0.6")
    assert consult(hosts, InstalledRuleset(), place, Hook.POSTROUTING, packet).decisions == []
    wrong = InstalledRuleset({"inet kindnet": frozenset({"something else"})})
    found = consult(hosts, wrong, place, Hook.POSTROUTING, packet)
    assert [d.action for d in found.decisions] == [Action.MASQUERADE]
    assert "has no rule 'KIND-MASQ-AGENT: outbound traffic is masqueraded' installed" in found.warnings[0]


def test_tables_nobody_explains_are_named():
    installed = InstalledRuleset({"inet kindnet": frozenset(), "ip stranger": frozenset()})
    assert unexplained_tables(installed) == ["ip stranger"]
    assert {e.table for e in EXPLAINERS} >= {"inet kindnet", "inet docker"}


def test_nft_json_ruleset_is_read_as_tables_and_rule_comments():
    text = ('{"nftables": [{"metainfo": {"json_schema_version": 1}},'
            '{"table": {"family": "inet", "name": "kindnet", "handle": 1}},'
            '{"chain": {"family": "inet", "table": "kindnet", "name": "postrouting", "handle": 1}},'
            '{"rule": {"family": "inet", "table": "kindnet", "chain": "postrouting", "handle": 2,'
            ' "comment": "KIND-MASQ-AGENT: cluster podSubnet", "expr": []}},'
            '{"rule": {"family": "inet", "table": "kindnet", "chain": "postrouting", "handle": 3, "expr": []}},'
            '{"table": {"family": "ip", "name": "empty", "handle": 2}}]}')
    assert parse_ruleset(text).tables == {"inet kindnet": frozenset({"KIND-MASQ-AGENT: cluster podSubnet"}),
                                          "ip empty": frozenset()}
    assert parse_ruleset("").tables == {}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")) + sorted(SCENARIOS.glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_planned_nft_table_has_an_explainer(path):
    """A ruleset nobody explains makes trace blind to what it does to packets."""
    topology = kindscape.load(path).topology
    tables = {table for installed in _planned(topology).values() for table in installed.tables}
    missing = tables - {e.table for e in EXPLAINERS}
    assert not missing, (f"nft tables without an explainer: {sorted(missing)}: add one to "
                         "kindscape.trace.rulesets.EXPLAINERS (see kindscape/plan/decide.py)")


def test_kube_proxy_decisions_name_rules_the_plan_installs():
    topology = kindscape.load(SCENARIOS / "trace-services.yaml").topology
    installed = _planned(topology)
    cluster = topology.cluster("cluster-a")
    service, node = cluster.services[0], topology.node("cluster-a-worker")
    vip, vm1 = service.cluster_ips[0], topology.hosts[0].attachments[0].addresses[0]
    place = Place(node.netns, node.name, "node", "eth0", "vpod1")
    found = consult(topology, installed[node.netns], place, Hook.PREROUTING, Packet(vm1, vip, 80))
    assert found.warnings == []
    assert [(d.action, d.rule) for d in found.decisions] == [
        (Action.MARK, "from outside the podSubnet: masquerade"), (Action.DNAT, "default/web cluster IP")]
    backends = {a for pod in cluster.pods if pod.name in service.backends for a in pod.addresses}
    assert {a for a, port in found.decisions[-1].choices} == backends and found.decisions[-1].to_port == 8080
    first = found.decisions[-1].to  # the backend trace follows
    other = next(a for pod in cluster.pods for a in pod.addresses if a != first)
    inside = consult(topology, installed[node.netns], place, Hook.PREROUTING, Packet(other, vip, 80))
    assert [d.action for d in inside.decisions] == [Action.DNAT]  # a pod: no masquerade
    itself = consult(topology, installed[node.netns], place, Hook.PREROUTING, Packet(first, vip, 80))
    assert [(d.action, d.rule) for d in itself.decisions][0] == (Action.MARK, "hairpin: the pod reaches itself")
    marked = Packet(vm1, found.decisions[-1].to, 8080, mark=0x4000)
    out = consult(topology, installed[node.netns], place, Hook.POSTROUTING, marked)
    assert (Action.MASQUERADE, "KUBE-POSTROUTING: masquerade marked traffic") in \
        [(d.action, d.rule) for d in out.decisions] and out.warnings == []
