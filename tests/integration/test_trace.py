"""`trace` on real namespaces, for the page's scenarios: every verdict is compared with a
real TCP probe over the same pair (reachable exactly when the trace is delivered both
ways, and seen from the source address the trace predicts)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import kindscape
from kindscape import endpoints
from kindscape.probe import checks
from kindscape.probe.prober import ProbeResult, ProbeTask
from kindscape.topology import Expectation
from kindscape.trace.model import BY_RP_FILTER, DELIVERED, DROPPED, LOOP
from tests.conftest import EXAMPLES
from tests.conftest import SCENARIOS
from tests.machine import up_without_leaks


def probe(lab, source: str, address: str, port: int = 8080) -> ProbeResult:
    origin = endpoints.single(lab.topology, source)
    task = ProbeTask(source, origin.netns, address, address, port)
    return lab.runtime.probe(lab.state, [task], 1.0)[0]


def agree(lab, report) -> ProbeResult:
    """The trace and a real connection over the same pair say the same."""
    found = probe(lab, report.source, report.to_address, report.port)
    assert report.ok == found.reachable, (report.reason, found)
    if found.reachable:
        assert report.seen_source == found.seen_source
        assert report.from_address == found.local_address
    return found


@pytest.fixture(scope="module")
def hosts():
    yield from up_without_leaks(SCENARIOS / "trace-hosts.yaml")


def _at(report, name):
    return next(hop for hop in report.forward.hops if hop.at == name)


@pytest.mark.parametrize("source,target,reason", [
    # The page without its interconnect loop: the node sends it to its default gateway.
    ("cluster-a-worker/pod1", "cluster-b-worker/pod1", "docker-host: no route to 10.220.1.2"),
    # A plain host ("external VM") cannot reach pod IPs: no route anywhere on its way.
    ("vm1", "cluster-a-worker/pod1", "docker-host: no route to 10.110.1.2"),
    # Docker's isolation between two networks.
    ("vm1", "vm3", "docker-host: dropped by nft inet docker: docker isolation: kind to my-net2"),
])
def test_requests_that_stop_say_where_and_why(hosts, source, target, reason):
    report = hosts.trace(source, target)
    assert (report.forward.verdict, report.back, report.reason) == (DROPPED, None, reason)
    assert report.forward.hops[-1].at == "docker-host"
    agree(hosts, report)


def test_without_interconnect_the_node_sends_it_to_docker_host(hosts):
    report = hosts.trace("cluster-a-worker/pod1", "cluster-b-worker/pod1")
    assert [h.at for h in report.forward.hops] == ["cluster-a-worker/pod1", "cluster-a-worker", "docker-host"]
    assert _at(report, "cluster-a-worker").route == "default via 172.18.0.1 dev eth0"
    assert report.forward.hops[-1].route is None


def test_pod_to_a_plain_host_is_masqueraded_at_its_node(hosts):
    report = hosts.trace("cluster-a-worker/pod1", "vm1")
    assert report.ok and report.seen_source == "172.18.0.3" and report.source_preserved is False
    node = _at(report, "cluster-a-worker")
    assert node.nat == "masquerade 10.110.1.2 -> 172.18.0.3 by nft inet kindnet"
    assert any(s.by == "nft inet kindnet" and s.rule.startswith("KIND-MASQ-AGENT") for s in node.steps)
    # The reply comes back to the node, where conntrack gives it back the pod's address.
    assert [h.at for h in report.back.hops] == ["vm1", "cluster-a-worker", "cluster-a-worker/pod1"]
    assert "destination 172.18.0.3 -> 10.110.1.2" in report.back.hops[1].nat
    agree(hosts, report)


def test_host_with_routes_to_reaches_pods_keeping_its_address(hosts):
    report = hosts.trace("vm2", "cluster-a-worker/pod1")
    assert report.ok and report.source_preserved is True
    assert report.forward.hops[0].route == "10.110.1.0/24 via 172.18.0.3 dev eth0"
    assert [h.at for h in report.forward.hops] == ["vm2", "cluster-a-worker", "cluster-a-worker/pod1"]
    assert all(h.nat is None for h in report.forward.hops)
    agree(hosts, report)


def test_a_port_nothing_listens_on_is_refused(hosts):
    report = hosts.trace("vm2", "cluster-a-worker/pod1", port=9999)
    assert report.forward.verdict == DROPPED and "nothing listens on TCP 10.110.1.2:9999" in report.reason
    assert agree(hosts, report).error == "refused"


def test_every_trace_agrees_with_every_probe(hosts):
    """Every pod, node, host and docker-host to every other: the trace's verdict and the
    source it predicts are what a real connection finds."""
    results = traces_agree_with_probes(hosts)
    assert len(results) == 12 * 11 and 0 < sum(r.reachable for r in results) < len(results)


def traces_agree_with_probes(lab, targets=None) -> list[ProbeResult]:
    """Probes from every pod, node, host and docker-host to each of `targets` (default:
    those same endpoints); the trace of each pair must say what its probe found: reachable
    or not, and, to an endpoint (not a Service, whose backend the kernel picks at random),
    the source seen. The probes' results."""
    everyone = endpoints.all_sources(lab.topology) + [endpoints.docker_host_endpoint(lab.topology)]
    targets = everyone if targets is None else targets
    assert targets, "nothing to trace"
    services = {target.name for target in targets if target.kind == "service"}
    results = lab.runtime.probe(lab.state, checks.tasks_between(everyone, targets), 1.0)
    for result in results:
        task = result.task
        traced = lab.trace(task.source, task.target, task.port, task.address)
        assert traced.ok == result.reachable, (task, traced.reason, result.error)
        if result.reachable and task.target not in services:
            assert traced.seen_source == result.seen_source, task
    return results


def service_views(topology) -> list:
    """Every ClusterIP, NodePort (each node's address) and LoadBalancer view of every
    Service, as probe targets."""
    targets = []
    for cluster in topology.clusters:
        for service in cluster.services:
            for view in ("svc", "nodeport", "lb"):
                if endpoints.service_view_problem(view, service.type) is None:
                    selector = f"{cluster.name}/{view}/{service.namespace}/{service.name}"
                    targets += endpoints.resolve(topology, selector)
    return targets


def test_trace_names_what_it_cannot_trace(hosts):
    with pytest.raises(kindscape.KindscapeError, match="unknown endpoint 'nope'"):
        hosts.trace("nope", "vm1")
    with pytest.raises(kindscape.KindscapeError, match="names 2 endpoints"):
        hosts.trace("vm1", "cluster-a/pods")


def test_cli_trace_json_and_exit_status(hosts):
    done = subprocess.run(["kindscape", "trace", "trace-hosts", "cluster-a-worker/pod1", "cluster-b-worker/pod1",
                           "-o", "json"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["verdict"], doc["returnVerdict"], doc["reason"]) == \
        (DROPPED, None, "docker-host: no route to 10.220.1.2")
    assert doc["hops"][-1]["at"] == "docker-host" and doc["hops"][0]["next"] == "cluster-a-worker"
    table = subprocess.run(["kindscape", "trace", "trace-hosts", "vm2", "cluster-a-worker/pod1"],
                           capture_output=True, text=True, env=dict(os.environ, COLUMNS="200"))
    assert table.returncode == 0, table.stderr
    assert "connection can be made" in table.stdout and "10.110.1.0/24 via 172.18.0.3 dev eth0" in table.stdout


def test_explain_gives_one_reason_per_failed_expectation(hosts):
    wrong = [Expectation("cluster-a/pods", "cluster-b/pods", reachable=True),
             Expectation("cluster-a-worker/pod1", "vm1", reachable=True, source_preserved=True),
             Expectation("vm2", "cluster-a/pods", reachable=True)]
    report = checks.check(hosts.topology, lambda tasks: hosts.runtime.probe(hosts.state, tasks, 1.0),
                          expectations=wrong)
    hosts.explain(report)  # the Lab's: one view of the kernel for all three
    lines = [o.explanation for o in report.expectations]
    assert lines[0].endswith("request dropped: docker-host: no route to 10.220.0.2")
    assert "NAT at cluster-a-worker: masquerade 10.110.1.2 -> 172.18.0.3" in lines[1]
    assert lines[2] is None


def test_interconnected_clusters_deliver_without_nat(no_leaks):
    with kindscape.up(EXAMPLES / "multi-cluster.yaml") as lab:
        report = lab.trace("cluster-a-worker/pod1", "cluster-b-worker/pod1")
        assert report.ok and report.source_preserved is True
        assert [h.at for h in report.forward.hops] == \
            ["cluster-a-worker/pod1", "cluster-a-worker", "cluster-b-worker", "cluster-b-worker/pod1"]
        node = _at(report, "cluster-a-worker")
        assert (node.route, node.nat, node.next) == ("10.220.1.0/24 via 172.18.0.5 dev eth0", None,
                                                     "cluster-b-worker")
        assert any(s.rule == "interconnect: no masquerade" for s in node.steps)
        assert [h.at for h in report.back.hops] == \
            ["cluster-b-worker/pod1", "cluster-b-worker", "cluster-a-worker", "cluster-a-worker/pod1"]
        agree(lab, report)


def test_strict_rp_filter_and_a_routing_loop(no_leaks):
    with kindscape.up(SCENARIOS / "trace-asym.yaml") as lab:
        report = lab.trace("cluster-a-worker/pod1", "cluster-b-worker/pod1")
        assert report.forward.verdict == DROPPED
        assert report.reason == ("cluster-b-worker: strict rp_filter drops it: it came in on eth0, but the "
                                 "route back to 10.110.1.2 (10.110.1.0/24 via 172.16.17.3 dev eth1) leaves by eth1")
        assert report.forward.hops[-1].steps[-1].by == BY_RP_FILTER
        agree(lab, report)
        loop = lab.trace("cluster-a-control-plane", "10.0.0.5")
        assert loop.forward.verdict == LOOP and loop.reason.startswith("loop: cluster-a-control-plane → ")
        agree(lab, loop)


def test_the_page_case_the_container_cannot_answer_the_pod_ip(no_leaks, tmp_path):
    """The page: pods reach other containers, "however, the Docker container will not be
    able to answer to the Pod IP address until we install the corresponding routes". KIND's
    kindnet masquerades pod traffic leaving the cluster, which hides this; on a node without
    that masquerade (removed here, by hand, as a CNI without it would be) the pod's own
    address reaches the container, and only a container with routes (vm2) can answer."""
    path = tmp_path / "page.yaml"
    path.write_text((SCENARIOS / "trace-hosts.yaml").read_text().replace("name: trace-hosts", "name: trace-page"))
    with kindscape.up(path) as lab:
        lab.exec("cluster-a-worker", ["nft", "delete", "table", "inet", "kindnet"])
        lab.exec("cluster-a-worker", ["nft", "add", "table", "ip", "stranger"])
        report = lab.trace("cluster-a-worker/pod1", "vm1")
        assert (report.forward.verdict, report.back.verdict) == (DELIVERED, DROPPED)
        assert report.seen_source == "10.110.1.2"
        assert report.reason == "reply: docker-host: no route to 10.110.1.2"
        assert all(h.nat is None for h in report.forward.hops)
        assert "cluster-a-worker: nft table ip stranger is not explained by trace" in report.warnings[0]
        agree(lab, report)
        answered = lab.trace("cluster-a-worker/pod1", "vm2")
        assert answered.ok and answered.source_preserved is True
        agree(lab, answered)
        done = subprocess.run(["kindscape", "check", "trace-page", "--explain", "-o", "json"],
                              capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        failed = [e for e in json.loads(done.stdout)["expectations"] if not e["met"]]
        assert [e["explanation"] for e in failed] == [
            "cluster-a-worker/pod1 -> vm1 (172.18.0.6:8080): request delivered, "
            "reply dropped: docker-host: no route to 10.110.1.2"]
