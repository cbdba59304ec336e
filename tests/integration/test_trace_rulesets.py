"""`trace` through the rules other features add: kube-proxy's Service DNAT (issue 4),
partitions and impairments (issue 6). Each test skips, saying why, until its feature is in
the build; then it runs as is (and fails if the feature's rules have no explainer)."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

import kindscape
from kindscape.api import Lab
from kindscape.plan import ops
from kindscape.plan.decide import Action, Decision, Hook, Packet, Place
from kindscape.trace import rulesets
from kindscape.trace.model import DROPPED
from tests.conftest import EXAMPLES
from tests.integration.test_trace import agree, probe

def one_cluster(name: str, rest: str) -> str:
    """A scenario with cluster-a (two nodes, the page's subnets) and `rest`."""
    return f"""\
apiVersion: kindscape/v1alpha1
kind: Scenario
name: {name}
clusters:
  - name: cluster-a
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      networking: {{podSubnet: 10.110.0.0/16, serviceSubnet: 10.115.0.0/16}}
      nodes: [{{role: control-plane}}, {{role: worker}}]
""" + rest


SERVICES = one_cluster("trace-svc", """\
services:
  - {cluster: cluster-a, name: web, port: 80, targetPort: 8080}
hosts:
  - name: vm1
    serviceRoutesTo: [cluster-a]
  - name: vm2
""")

IMPAIRED = """\
apiVersion: kindscape/v1alpha1
kind: Scenario
name: trace-impaired
clusters:
  - name: cluster-a
    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4,
             networking: {podSubnet: 10.110.0.0/16, serviceSubnet: 10.115.0.0/16}}
  - name: cluster-b
    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4,
             networking: {podSubnet: 10.220.0.0/16, serviceSubnet: 10.225.0.0/16}}
interconnect:
  - clusters: [cluster-a, cluster-b]
impairments:
  - between: [cluster-a, cluster-b]
    rate: 100mbit
"""


def load_or_skip(text: str, tmp_path, feature: str):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    try:
        scenario = kindscape.load(path)
    except kindscape.ScenarioError as exc:
        if "not supported by this version" in str(exc):
            pytest.skip(f"{feature} are not in this build ({exc.problems[0].message})")
        raise
    tables = {f"{op.text.split()[1]} {op.table}" for op in kindscape.plan(scenario).of(ops.Ruleset)}
    missing = tables - {e.table for e in rulesets.EXPLAINERS}
    assert not missing, (f"nft tables without an explainer: {sorted(missing)}; trace cannot say what "
                         "they do: add one to kindscape.trace.rulesets.EXPLAINERS (see plan/decide.py)")
    return scenario


def test_cluster_ip_from_a_host_with_service_routes(no_leaks, tmp_path):
    """DNAT at the node the route leads to, masquerade there, and the reply back through it."""
    scenario = load_or_skip(SERVICES, tmp_path, "Services (issue 4)")
    with kindscape.up(scenario) as lab:
        service = lab.topology.cluster("cluster-a").services[0]
        report = lab.trace("vm1", "cluster-a/svc/web")
        assert report.ok, report.reason
        natted = [h for h in report.forward.hops if h.nat and f"dnat {service.cluster_ips[0]}:80" in h.nat]
        assert len(natted) == 1 and natted[0].at.startswith("cluster-a-"), [h.nat for h in report.forward.hops]
        assert "masquerade" in natted[0].nat
        assert report.forward.delivered_to in service.backends
        assert natted[0].at in [h.at for h in report.back.hops]  # the reply returns via that node
        # The probe's backend is the kernel's random pick: compare reachability, not the source.
        found = probe(lab, "vm1", str(service.cluster_ips[0]), 80)
        assert found.reachable and found.answered_by in service.backends
        without = lab.trace("vm2", "cluster-a/svc/web")
        assert not without.ok
        assert not probe(lab, "vm2", str(service.cluster_ips[0]), 80).reachable


def test_a_partition_is_dropped_by_the_partition_rule(no_leaks):
    if not hasattr(Lab, "partition"):
        pytest.skip("partitions (issue 6) are not in this build: Lab.partition does not exist")
    with kindscape.up(EXAMPLES / "multi-cluster.yaml") as lab:
        lab.partition("cluster-a", "cluster-b")
        report = lab.trace("cluster-a-worker/pod1", "cluster-b-worker/pod1")
        stopped = report.forward if report.forward.verdict == DROPPED else report.back
        assert stopped is not None and stopped.verdict == DROPPED, report.reason
        assert "partition" in report.reason, report.reason
        assert not stopped.hops[-1].steps[-1].by.startswith("kernel"), stopped.hops[-1].steps
        agree(lab, report)
        lab.heal("cluster-a", "cluster-b")
        healed = lab.trace("cluster-a-worker/pod1", "cluster-b-worker/pod1")
        assert healed.ok, healed.reason
        agree(lab, healed)


def test_an_impairment_crossed_is_shown(no_leaks, tmp_path):
    scenario = load_or_skip(IMPAIRED, tmp_path, "impairments (issue 6)")
    with kindscape.up(scenario) as lab:
        report = lab.trace("cluster-a-control-plane/pod1", "cluster-b-control-plane/pod1")
        assert report.ok, report.reason
        crossed = [s for h in report.forward.hops for s in h.steps if "100mbit" in s.what]
        assert crossed, [s for h in report.forward.hops for s in h.steps]
        agree(lab, report)


# A Service made by hand, the way kube-proxy makes one, with an explainer registered the
# way issue 4's must be: it proves the interface, DNAT, masquerade and conntrack's reverse
# NAT on the reply against the real kernel today, whatever issue 4 ships.
HAND_MADE = one_cluster("trace-dnat", """\
hosts:
  - name: vm1
    serviceRoutesTo: [cluster-a]    # 10.115.0.0/16 via cluster-a-control-plane
""")
VIP, BACKEND = ipaddress.ip_address("10.115.0.20"), ipaddress.ip_address("10.110.1.2")


def _hand_made_ruleset(masquerade: bool) -> str:
    lines = ["table ip handsvc {",
             "  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
             f'    ip daddr {VIP} tcp dport 80 dnat to {BACKEND}:8080 comment "svc web: to its backend"',
             "  }",
             "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"]
    if masquerade:
        lines.append(f'    ip saddr != 10.110.0.0/16 ip daddr {BACKEND} tcp dport 8080 masquerade '
                     'comment "svc web: masquerade off-cluster clients"')
    return "\n".join(lines + ["  }", "}"]) + "\n"


class HandMadeService:
    table = "ip handsvc"

    def __init__(self, masquerade: bool):
        self.masquerade = masquerade

    def decide(self, topology, place: Place, hook: Hook, packet: Packet) -> Decision | None:
        if place.endpoint != "cluster-a-control-plane" or place.reply:
            return None
        if hook is Hook.PREROUTING and (packet.dst, packet.dport) == (VIP, 80):
            return Decision(self.table, "svc web: to its backend", Action.DNAT, BACKEND, 8080,
                            ((BACKEND, 8080),))
        outside = packet.src is not None and packet.src not in ipaddress.ip_network("10.110.0.0/16")
        if self.masquerade and hook is Hook.POSTROUTING and outside and \
                (packet.dst, packet.dport) == (BACKEND, 8080):
            return Decision(self.table, "svc web: masquerade off-cluster clients", Action.MASQUERADE)
        return None


@pytest.mark.parametrize("masquerade", [True, False])
def test_dnat_at_a_node_with_and_without_masquerade(no_leaks, tmp_path, monkeypatch, masquerade):
    path = tmp_path / "dnat.yaml"
    path.write_text(HAND_MADE)
    monkeypatch.setattr(rulesets, "EXPLAINERS", rulesets.EXPLAINERS + (HandMadeService(masquerade),))
    with kindscape.up(path) as lab:
        done = subprocess.run(["ip", "netns", "exec", lab.topology.node("cluster-a-control-plane").netns,
                            "nft", "-f", "-"], input=_hand_made_ruleset(masquerade), text=True,
                           capture_output=True)
        assert done.returncode == 0, done.stderr
        report = lab.trace("vm1", str(VIP), port=80)
        node = report.forward.hops[1]
        assert node.at == "cluster-a-control-plane" and node.nat.startswith(
            "dnat 10.115.0.20:80 -> 10.110.1.2:8080 (one of 10.110.1.2:8080) by nft ip handsvc")
        assert report.forward.delivered_to == "cluster-a-worker/pod1"
        found = agree(lab, report)
        if masquerade:
            # The reply comes back through the node: conntrack undoes both NATs there.
            assert report.ok and report.seen_source == "172.18.0.2" == found.seen_source
            assert [h.at for h in report.back.hops] == \
                ["cluster-a-worker/pod1", "cluster-a-worker", "cluster-a-control-plane", "vm1"]
            assert report.back.hops[2].nat == ("destination 172.18.0.2 -> 172.18.0.4 by conntrack (reply); "
                                               "source 10.110.1.2 -> 10.115.0.20 by conntrack (reply)")
        else:
            # Why kube-proxy masquerades: the backend answers the client directly, from its
            # own address, and the client does not know that connection.
            assert report.back.verdict == DROPPED
            assert report.reason == (
                "reply: vm1: the reply comes from 10.110.1.2, but the connection went to 10.115.0.20 "
                "(the reply does not pass back through cluster-a-control-plane, where the request was NATed)")
