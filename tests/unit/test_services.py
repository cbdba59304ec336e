"""Services without root: allocation as Kubernetes does it, the kube-proxy rules the plan
holds, and the cluster DNS's answers (the real Zone, questions and answers on the wire
through dnslib; the sockets are tested in tests/integration/test_services.py)."""

from __future__ import annotations

import ipaddress

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

import kindscape
from kindscape import endpoints
from kindscape.plan import clusterdns, kubeproxy
from kindscape.runtimes.netns import ops
from kindscape.runtimes.netns import planner
from kindscape.probe import dns
from kindscape.scenario import loads
from tests.conftest import EXAMPLES

HEAD = "apiVersion: kindscape/v1alpha1\nkind: Scenario\nname: t\n"
CLUSTER = """clusters:
  - name: c
    config: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4,
             networking: {podSubnet: 10.110.0.0/16, serviceSubnet: %s},
             nodes: [{role: control-plane}, {role: worker}]}
    podsPerNode: %d
"""


@pytest.fixture(scope="module")
def example():
    return kindscape.load(EXAMPLES / "services.yaml").topology


def _services(topology):
    return {s.name: s for s in topology.cluster("cluster-a").services}


def test_cluster_ips_start_at_the_twentieth_address_in_file_order(example):
    found = _services(example)
    assert [str(found[n].cluster_ips[0]) for n in ("web", "web-np", "web-lb")] == \
        ["10.115.0.20", "10.115.0.21", "10.115.0.22"]
    assert found["db"].cluster_ips == () and found["upstream"].cluster_ips == ()


def test_node_ports_given_are_kept_and_the_rest_allocated_from_30000(example):
    found = _services(example)
    assert (found["web-np"].node_port, found["web-lb"].node_port, found["web"].node_port) == (30080, 30000, None)


def test_load_balancer_address_comes_after_nodes_and_hosts(example):
    taken = {a for n in example.nodes for a in n.attachments[0].addresses}
    taken |= {a for h in example.hosts for a in h.attachments[0].addresses}
    lb = _services(example)["web-lb"]
    assert lb.load_balancer_ips == (ipaddress.ip_address("172.18.0.7"),)
    assert max(taken) < lb.load_balancer_ips[0]
    assert lb.announced_by == "cluster-a-control-plane"


def test_backends_by_node_glob_and_by_default(example):
    found = _services(example)
    assert found["web"].backends == ("cluster-a-worker/pod1", "cluster-a-worker/pod2",
                                     "cluster-a-worker2/pod1", "cluster-a-worker2/pod2")
    assert found["db"].backends == ("cluster-a-worker/pod1", "cluster-a-worker/pod2")
    assert len(found["web-np"].backends) == 6


def test_coredns_is_a_pod_of_the_control_plane_after_its_pods(example):
    cluster = example.cluster("cluster-a")
    assert cluster.dns_pod.name == "cluster-a-control-plane/coredns"
    assert [str(a) for a in cluster.dns_pod.addresses] == ["10.110.0.4"]  # pods are .2 and .3
    assert cluster.dns_pod not in cluster.pods  # not a probe target of <cluster>/pods


def test_pods_listen_on_8080_and_the_target_ports_of_their_services(example):
    listeners = {l.endpoint: l.ports for l in planner.plan(example).of(ops.StartWorkloads)[0].listeners}
    assert listeners["cluster-a-worker2/pod1"] == (8080, 9376)
    assert listeners["cluster-a-control-plane/pod1"] == (8080,)


def test_a_small_service_subnet_wraps_below_20_and_then_runs_out():
    services = "services:\n" + "".join(f"  - {{cluster: c, name: s{i}}}\n" for i in range(12))
    topo = loads(HEAD + CLUSTER % ("10.96.0.0/28", 1) + services).topology
    ips = [str(s.cluster_ips[0]) for s in topo.clusters[0].services]
    assert ips == [f"10.96.0.{o}" for o in (2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14)]
    with pytest.raises(kindscape.ScenarioError, match="no free address left"):
        loads(HEAD + CLUSTER % ("10.96.0.0/28", 1) + services + "  - {cluster: c, name: s12}\n")


def test_the_first_service_is_at_20_on_kinds_default_subnet():
    topo = loads(HEAD + CLUSTER % ("10.96.0.0/16", 1) + "services:\n  - {cluster: c, name: web}\n").topology
    assert str(topo.clusters[0].services[0].cluster_ips[0]) == "10.96.0.20"
    assert str(topo.clusters[0].dns_ips[0]) == "10.96.0.10"


def test_service_targets_resolve_to_the_address_and_port_a_client_uses(example):
    web = endpoints.single(example, "cluster-a/svc/web")
    assert (web.name, [str(a) for a in web.addresses], web.port) == \
        ("cluster-a/svc/default/web", ["10.115.0.20"], 80)
    nodeport = endpoints.single(example, "cluster-a/nodeport/default/web-np")
    assert ([str(a) for a in nodeport.addresses], nodeport.port) == \
        (["172.18.0.2", "172.18.0.3", "172.18.0.4"], 30080)
    lb = endpoints.single(example, "cluster-a/lb/web-lb")
    assert ([str(a) for a in lb.addresses], lb.port) == (["172.18.0.7"], 80)
    headless = endpoints.single(example, "cluster-a/svc/data/db")
    assert ([str(a) for a in headless.addresses], headless.port) == (["10.110.1.2", "10.110.1.3"], 8080)
    with pytest.raises(endpoints.EndpointError, match="no LoadBalancer address"):
        endpoints.single(example, "cluster-a/lb/web")


def test_kube_proxy_rules_catch_every_frontend_and_spread_over_backends(example):
    text = kubeproxy.ruleset_text(example.cluster("cluster-a"))
    assert "ip daddr 10.115.0.20 tcp dport 80 goto svc-default/web/tcp/80" in text
    assert "ip daddr 172.18.0.7 tcp dport 80 goto ext-default/web-lb/tcp/80" in text
    assert "fib daddr type local tcp dport 30080 goto ext-default/web-np/tcp/80" in text
    assert "numgen random mod 4 vmap" in text
    assert "ip saddr != { 10.110.0.0/16 } jump mark-for-masquerade" in text
    assert "dnat ip to 10.110.2.2:9376" in text
    # NodePorts come last, as KUBE-NODEPORTS does: a ClusterIP rule is never shadowed.
    services = text.split("chain services {")[1].split("}")[0]
    assert services.rindex("cluster IP") < services.index("nodePort")


def test_no_kube_proxy_rules_when_kind_runs_without_kube_proxy():
    text = (HEAD + CLUSTER % ("10.96.0.0/16", 1)).replace("nodes:", "kubeProxyMode: none}, nodes:", 1)
    text = text.replace("serviceSubnet: 10.96.0.0/16},", "serviceSubnet: 10.96.0.0/16,")
    topo = loads(text).topology
    assert topo.clusters[0].kube_proxy_mode == "none"
    assert kubeproxy.rulesets(topo.clusters[0]) == []


# The DNS server's answers -----------------------------------------------------------
@pytest.fixture(scope="module")
def zone(example):
    server = clusterdns.server(example.cluster("cluster-a"))
    return dns.Zone(server.zone, [[r.name, r.type, r.data] for r in server.records])


def _ask(zone, name: str, qtype: str = "A", limit: int | None = None) -> DNSRecord:
    question = DNSRecord.question(name, qtype)
    return DNSRecord.parse(dns.reply_bytes(zone, question.pack(), limit))


def _rdata(reply: DNSRecord, qtype: str) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == getattr(QTYPE, qtype))


def test_dns_answers_cluster_ips_case_insensitively(zone):
    reply = _ask(zone, "Web.Default.svc.cluster.local")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa
    assert _rdata(reply, "A") == ["10.115.0.20"]
    assert _rdata(_ask(zone, "kube-dns.kube-system.svc.cluster.local"), "A") == ["10.115.0.10"]


def test_dns_headless_answers_exactly_its_pods_with_srv_and_glue(zone):
    assert _rdata(_ask(zone, "db.data.svc.cluster.local"), "A") == ["10.110.1.2", "10.110.1.3"]
    srv = _ask(zone, "db.data.svc.cluster.local", "SRV")
    assert _rdata(srv, "SRV") == ["0 50 8080 10-110-1-2.db.data.svc.cluster.local.",
                                  "0 50 8080 10-110-1-3.db.data.svc.cluster.local."]
    assert sorted(str(rr.rdata) for rr in srv.ar) == ["10.110.1.2", "10.110.1.3"]


def test_dns_external_name_is_a_cname_for_every_type(zone):
    for qtype in ("A", "AAAA", "CNAME"):
        assert _rdata(_ask(zone, "upstream.default.svc.cluster.local", qtype), "CNAME") == ["db.example.internal."]


def test_dns_nxdomain_nodata_and_pod_names(zone):
    missing = _ask(zone, "nope.default.svc.cluster.local")
    assert missing.header.rcode == RCODE.NXDOMAIN and missing.auth[0].rtype == QTYPE.SOA
    assert _ask(zone, "example.com").header.rcode == RCODE.NXDOMAIN  # no upstream to forward to
    nodata = _ask(zone, "web.default.svc.cluster.local", "AAAA")  # an IPv4 cluster
    assert nodata.header.rcode == RCODE.NOERROR and not nodata.rr and nodata.auth
    assert _ask(zone, "default.svc.cluster.local").header.rcode == RCODE.NOERROR  # a parent name
    assert _rdata(_ask(zone, "10-110-1-2.default.pod.cluster.local"), "A") == ["10.110.1.2"]
    assert _rdata(_ask(zone, "20.0.115.10.in-addr.arpa", "PTR"), "PTR") == ["web.default.svc.cluster.local."]


def test_dns_truncates_a_large_udp_answer_and_answers_it_whole_over_tcp():
    records = [["big.default.svc.cluster.local", "A", f"10.110.{i // 250}.{i % 250 + 2}"] for i in range(60)]
    zone = dns.Zone("cluster.local", records)
    udp = _ask(zone, "big.default.svc.cluster.local", limit=512)
    assert udp.header.tc and not udp.rr
    assert len(_ask(zone, "big.default.svc.cluster.local", limit=None).rr) == 60


def test_dns_ignores_what_is_not_a_query(zone):
    assert dns.reply_bytes(zone, b"\x00\x01garbage", 512) is None
    answer = _ask(zone, "web.default.svc.cluster.local")
    assert dns.reply_bytes(zone, answer.pack(), 512) is None  # a response, not a question
