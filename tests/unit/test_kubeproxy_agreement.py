"""kube-proxy's table is written as nft text (plan/kubeproxy.py) and explained to trace by
plan/kubeproxy_explain.py. This proves the two decide the same, rule by rule: a small
interpreter of the generated text (independent of the explainer: it reads only the text)
runs packets aimed at every rule of every node's table - each Service frontend (cluster
IP, LoadBalancer address, the NodePort on each local address), from a backend itself, a
pod, and outside the podSubnet, in both families - and the effects must agree: which
Service rule catches it, whether it is marked for masquerade, the backend it is DNATed to
and every backend it could be, and the masquerade on the way out. Every rule of every table
is reached by some packet (the test says which one none reached)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import pytest

import kindscape
from kindscape.plan import kubeproxy
from kindscape.plan.decide import Action, Hook, Packet, Place
from kindscape.plan.kubeproxy_explain import KubeProxy, _local
from tests.conftest import EXAMPLES

SCENARIOS = ["services.yaml", "dual-stack.yaml", "ipv6-multi-cluster.yaml", "multi-cluster.yaml"]
COMMENT = re.compile(r'\s*comment "([^"]*)"$')
ACTIONS = ("jump", "goto", "numgen", "dnat", "masquerade", "return")


def _chains(text: str) -> dict[str, list[str]]:
    chains, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("chain "):
            current = chains.setdefault(line.split()[1], [])
        elif current is not None and line and line != "}" and not line.startswith("type "):
            current.append(line)
    return chains


def _set(text: str) -> list:
    return [ipaddress.ip_network(s.strip()) for s in text.strip("{} ").split(",")]


@dataclass
class Outcome:
    caught_by: str | None = None  # the comment of the services rule that caught the packet
    marked: bool = False
    dnat: tuple | None = None  # (address, port)
    choices: set = field(default_factory=set)
    masquerade: str | None = None


class Interpreter:
    """What the kernel does with the table's text, for the rules kube-proxy's table has."""

    def __init__(self, text: str, local: set):
        self.chains, self.local = _chains(text), local
        self.hits: set[tuple[str, int]] = set()  # (chain, rule number): rules whose matches held

    def run(self, chain: str, packet: Packet, out: Outcome, entry: str | None = None) -> str:
        """'continue' when the chain falls through or returns, 'stop' after a verdict."""
        for number, rule in enumerate(self.chains[chain]):
            found = COMMENT.search(rule)
            comment = found.group(1) if found else None
            body = COMMENT.sub("", rule)
            verdict = self._rule(body, comment, packet, out, entry, (chain, number))
            if verdict == "return":
                return "continue"
            if verdict in ("stop", "goto"):
                return "stop" if verdict == "stop" else "continue"
        return "continue"

    def _rule(self, body: str, comment, packet: Packet, out: Outcome, entry, where) -> str | None:
        words = body.split()
        while words:
            head = words[0]
            if head in ACTIONS or words[:3] == ["meta", "mark", "set"]:
                self.hits.add(where)  # every match before the first action held
            if head in ("ip", "ip6") and words[1] in ("daddr", "saddr"):
                if (packet.dst.version if words[1] == "daddr" else packet.src.version) != (4 if head == "ip" else 6):
                    return None
                address = packet.dst if words[1] == "daddr" else packet.src
                if words[2] == "!=":
                    end = body.index("}", body.index("{")) + 1
                    nets = _set(body[body.index("{"):end])
                    if any(address in n for n in nets):
                        return None
                    words = body[end:].split()
                    continue
                if address != ipaddress.ip_address(words[2]):
                    return None
                words = words[3:]
            elif head == "fib":  # fib daddr type local
                if packet.dst not in self.local:
                    return None
                words = words[4:]
            elif head in ("tcp", "udp"):  # tcp dport N
                if packet.proto != head or packet.dport != int(words[2]):
                    return None
                words = words[3:]
            elif head == "meta" and words[1] == "nfproto":
                if packet.dst.version != (4 if words[2] == "ipv4" else 6):
                    return None
                words = words[3:]
            elif head == "meta" and words[1] == "l4proto":
                if packet.proto != words[2]:
                    return None
                words = words[3:]
            elif head == "meta" and words[1] == "mark" and words[2] == "&":  # meta mark & X == 0 return
                if (out.marked and 1) != 0:
                    return None
                words = words[6:]
            elif head == "meta" and words[1] == "mark" and words[2] == "set":
                out.marked = words[5] == "|" or not out.marked  # `| X` sets, `^ X` flips
                words = words[7:]
            elif head == "jump":
                self.run(words[1], packet, out, entry)
                words = words[2:]
            elif head == "goto":
                self.run(words[1], packet, out, comment or entry)
                out.caught_by = out.caught_by or comment or entry
                return "goto"
            elif head == "numgen":  # numgen random mod N vmap { 0 : goto a, 1 : goto b }
                targets = re.findall(r"\d+ : goto (\S+?)(?:,| })", body)
                for target in targets[1:]:
                    probe = Outcome(marked=out.marked)
                    self.run(target, packet, probe, entry)
                    out.choices |= probe.choices
                self.run(targets[0], packet, out, entry)  # trace follows the first
                return "goto"
            elif head == "dnat":  # dnat ip to A:P / dnat ip6 to [A]:P
                target = words[3]
                address, port = (target[1:].split("]:") if target.startswith("[") else target.rsplit(":", 1))
                chosen = (ipaddress.ip_address(address), int(port))
                out.dnat = out.dnat or chosen
                out.choices.add(chosen)
                return "stop"
            elif head == "masquerade":
                out.masquerade = comment
                return "stop"
            elif head == "return":
                return "return"
            else:
                raise AssertionError(f"the interpreter does not know {head!r} in {body!r}: teach it")
        return None


def _explained(explainer, topology, node, hook, packet) -> Outcome:
    place = Place(node.netns, node.name, "node")
    found = explainer.decide(topology, place, hook, packet) or ()
    out = Outcome()
    for decision in found if isinstance(found, tuple) else (found,):
        if decision.action is Action.MARK:
            out.marked = True
        elif decision.action is Action.DNAT:
            out.caught_by, out.dnat, out.choices = decision.rule, (decision.to, decision.to_port), set(decision.choices)
        elif decision.action is Action.MASQUERADE:
            out.masquerade = decision.rule
    return out


def _packets(cluster, node, local):
    """A packet at every rule: every frontend of every Service port, from a backend (CoreDNS
    too), another pod, outside the podSubnet; and one no rule catches."""
    sources = {a for pod in cluster.pods for a in pod.addresses}
    sources |= set(cluster.dns_pod.addresses) if cluster.dns_pod is not None else set()  # kube-dns's backend
    sources |= {a for n in cluster.nodes for at in n.attachments for a in at.addresses}
    for port in kubeproxy.proxied_ports(cluster):
        fronts = [(a, port.port) for a in port.cluster_ips + port.lb_ips]
        if port.node_port is not None:
            fronts += [(a, port.node_port) for a in sorted(local, key=str)]
        for dst, dport in fronts:
            for src in sorted(sources, key=str):
                if src.version == dst.version:
                    yield Packet(src, dst, dport, proto=port.protocol)
                    yield Packet(src, dst, dport + 1, proto=port.protocol)  # no rule


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_rules_and_trace_decide_every_packet_alike(name):
    topology = kindscape.load(EXAMPLES / name).topology
    explainer, compared = KubeProxy(), 0
    for cluster in topology.clusters:
        if cluster.kube_proxy_mode == "none":
            continue
        text = kubeproxy.ruleset_text(cluster)
        for node in cluster.nodes:
            local = _local(node, cluster)
            kernel = Interpreter(text, local)
            rules = {(chain, n) for chain, found in kernel.chains.items() for n in range(len(found))}
            for packet in _packets(cluster, node, local):
                for hook, chain in ((Hook.PREROUTING, "prerouting"), (Hook.OUTPUT, "output")):
                    ran = Outcome()
                    kernel.run(chain, packet, ran)
                    if ran.dnat is None and not ran.marked:
                        ran.caught_by = None  # caught by nothing it acts on
                    said = _explained(explainer, topology, node, hook, packet)
                    assert (ran.caught_by, ran.marked, ran.dnat, ran.choices) == \
                        (said.caught_by, said.marked, said.dnat, said.choices), (node.name, hook, packet)
                    compared += 1
                    out = Outcome(marked=ran.marked)
                    kernel.run("postrouting", packet, out)
                    marked = packet.with_(mark=kubeproxy.MASQ_MARK if ran.marked else 0)
                    assert out.masquerade == _explained(explainer, topology, node, Hook.POSTROUTING,
                                                        marked).masquerade
            # Every rule of the table was reached by some packet: the agreement covers them all.
            assert sorted(rules - kernel.hits) == [], (name, node.name)
    if any(c.services or c.dns_pod for c in topology.clusters):
        assert compared > 0
