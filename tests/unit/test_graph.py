"""`kindscape graph`: the SVG, laid out by the real `dot`, shows every name and address it
must; KIND's node order reads left to right; `.dot` needs no Graphviz; without `dot`,
SVG and PNG fail with a message naming the package."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import kindscape
from kindscape.links import Links
from kindscape.render import graph
from kindscape.topology import Impairment, Service, Topology
from tests.conftest import EXAMPLES, ROOT

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (apt-get install graphviz)")
SVG = "{http://www.w3.org/2000/svg}"


def _svg(topology: Topology, path: Path, effects=()) -> ET.Element:
    graph.write(graph.build(topology, f"{topology.scenario}: test", effects), path)
    return ET.parse(path).getroot()


def _texts(root: ET.Element) -> str:
    # Graphviz writes runs of spaces as no-break spaces: compare words, single-spaced.
    return "\n".join(" ".join((t.text or "").split()) for t in root.iter(f"{SVG}text"))


def _left_edges(root: ET.Element) -> dict[str, float]:
    """Each node box's leftmost x in the SVG, by its graph id (`ep.<name>`)."""
    found = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        shape = group.find(f"{SVG}polygon")
        if group.get("class") == "node" and title is not None and shape is not None:
            xs = [float(point.split(",")[0]) for point in shape.get("points").split()]
            found[title.text] = min(xs)
    return found


def _expected_words(topology: Topology) -> list[str]:
    words = [topology.scenario, "docker-host"]
    for network in topology.networks:
        words += [network.name, str(network.subnets[0]), str(network.gateways[0])]
    for cluster in topology.clusters:
        words += [cluster.name, str(cluster.pod_subnets[0]), str(cluster.service_subnets[0])]
        for node in cluster.nodes:
            words += [node.name, node.role, str(node.internal_ips[0]), str(node.pod_cidrs[0])]
            words += [str(a.addresses[0]) for a in node.attachments]
            words += [str(pod.addresses[0]) for pod in node.pods[:1]]
    for host in topology.hosts:
        words += [host.name] + [str(a.addresses[0]) for a in host.attachments]
    words += [f"interconnect {i}" for i in range(1, len(topology.interconnects) + 1)]
    return words


EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@needs_dot
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_svg_shows_every_name_and_address(example, tmp_path):
    topology = kindscape.load(example).topology
    text = _texts(_svg(topology, tmp_path / "out.svg"))
    missing = [word for word in _expected_words(topology) if word not in text]
    assert not missing, f"{example.name}: the picture lacks {missing}"


@needs_dot
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_nodes_read_left_to_right_in_kind_order(example, tmp_path):
    topology = kindscape.load(example).topology
    left = _left_edges(_svg(topology, tmp_path / "out.svg"))
    for cluster in topology.clusters:
        xs = [left[graph.node_id(node.name)] for node in cluster.nodes]
        assert xs == sorted(xs), f"{cluster.name}: nodes out of KIND's order"


@needs_dot
def test_loopbacks_extra_networks_and_interconnect_kinds_are_shown(tmp_path):
    topology = kindscape.load(EXAMPLES / "six-regions.yaml").topology
    text = _texts(_svg(topology, tmp_path / "six.svg"))
    assert "InternalIP (loopback)" in text and "10.255.0.1/32" in text
    assert "backbone (eth1)" in text
    assert "interconnect 4: eu-west ↔ us-east\npod routes, masqueraded" in text
    assert "interconnect 2: us-east ↔ us-west\npod routes, service routes, pod IPs kept" in text
    assert "10.30.0.2, 10.30.0.3" in text  # two pods on a node: both addresses
    assert "routes to services" in text  # docker-host's serviceRoutesTo


def _with_services(topology: Topology) -> Topology:
    first = topology.clusters[0]
    subnet = first.service_subnets[0]
    services = (
        Service(first.name, "web", "default", "ClusterIP", 80, 8080, None, (subnet[20],), (), None,
                tuple(p.name for p in first.pods)),
        Service(first.name, "api", "shop", "LoadBalancer", 443, 8443, 30443, (subnet[21],),
                (ipaddress.ip_address("172.18.255.200"),), None, (first.pods[0].name,)),
        Service(first.name, "db", "default", "ExternalName", 5432, 5432, None, (), (),
                "db.example.internal", ()),
    )
    return dataclasses.replace(topology, clusters=(dataclasses.replace(first, services=services),)
                               + topology.clusters[1:])


@needs_dot
def test_services_and_impairments_are_drawn(tmp_path):
    # The topology gets hand-made Services; the links are impairments and a partition as a
    # running scenario records them (`faults.Links`).
    topology = _with_services(kindscape.load(EXAMPLES / "multi-cluster.yaml").topology)
    links = Links((Impairment(("cluster-a", "cluster-b"), delay=25_000, jitter=5_000, loss=1.0, rate=10**8),
                   Impairment(("cluster-a-worker", "kind"), loss=0.5)),
                  (("cluster-a", "cluster-b"),))
    root = _svg(topology, tmp_path / "out.svg", graph.link_effects(links))
    text = _texts(root)
    assert "web ClusterIP 10.115.0.20 80→8080/TCP (2 backends)" in text
    assert "shop/api LoadBalancer 10.115.0.21 443:30443→8443/TCP LB 172.18.255.200 (1 backends)" in text
    assert "db ExternalName → db.example.internal 5432/TCP (0 backends)" in text
    assert "partitioned; delay 25ms, jitter 5ms, loss 1%, rate 100mbit" in text and "loss 0.5%" in text
    edges = [t.text for t in root.iter(f"{SVG}title") if t.text and "->" in t.text]
    assert {"ep.cluster-a-worker->effect.2", "net.kind->effect.2"} <= set(edges)


def test_a_cut_between_clusters_is_drawn_between_the_clusters():
    """Not between two of their nodes: each edge of the partition leaves a cluster's box."""
    topology = kindscape.load(EXAMPLES / "multi-cluster.yaml").topology
    source = graph.build(topology, "t", graph.link_effects(Links((), (("cluster-a", "cluster-b"),)))).source
    cut = [line.strip() for line in source.splitlines() if "-> \"effect.1\"" in line and "invis" not in line]
    assert len(cut) == 2 and all("style=dashed" in line for line in cut)
    assert ['ltail="cluster_cluster-a"' in cut[0], 'ltail="cluster_cluster-b"' in cut[1]] == [True, True]
    assert '"effect.1" [label="cluster-a - cluster-b\npartitioned"' in source


def test_link_effects_label_what_is_set():
    links = Links((Impairment(("a", "b"), delay=10_000), Impairment(("a", "b"), rate=10**6, duplicate=2.0)),
                  (("a", "c"),))
    assert graph.link_effects(links) == [graph.LinkEffect(("a", "c"), "partitioned"),
                                         graph.LinkEffect(("a", "b"), "delay 10ms; duplicate 2%, rate 1mbit")]


def test_dot_source_is_written_without_graphviz(tmp_path):
    out = tmp_path / "g.dot"
    done = _kindscape(["graph", str(EXAMPLES / "multi-cluster.yaml"), "-o", str(out)], path="/nonexistent")
    assert done.returncode == 0, done.stderr
    source = out.read_text()
    assert source.startswith('digraph "multi-cluster" {')
    assert '"ep.cluster-b-worker"' in source and "10.220.1.0/24" in source


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_svg_and_png_without_dot_name_the_package(tmp_path, suffix):
    out = tmp_path / f"g.{suffix}"
    done = _kindscape(["graph", str(EXAMPLES / "multi-cluster.yaml"), "-o", str(out)], path="/nonexistent")
    assert done.returncode == 3 and not out.exists()
    assert done.stderr.startswith(f"error: writing {suffix.upper()} needs Graphviz's `dot` program")
    assert "apt-get install graphviz" in done.stderr and "Traceback" not in done.stderr


@needs_dot
def test_png_is_a_png(tmp_path):
    out = kindscape.graph(EXAMPLES / "multi-cluster.yaml", tmp_path / "g.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_suffix_is_refused_before_any_work(tmp_path):
    with pytest.raises(kindscape.KindscapeError, match=r"must end in \.svg, \.png or \.dot"):
        kindscape.graph(tmp_path / "missing.yaml", tmp_path / "g.jpg")



def test_a_file_that_cannot_be_written_is_a_clear_error(tmp_path):
    with pytest.raises(kindscape.KindscapeError, match="cannot write .*No such file or directory"):
        kindscape.graph(EXAMPLES / "multi-cluster.yaml", tmp_path / "no-such-dir" / "g.dot")

def test_a_name_that_is_not_up_is_a_clear_error(tmp_path):
    env_dir = tmp_path / "state"
    done = _kindscape(["graph", "nothing-here", "-o", str(tmp_path / "g.dot")], state=env_dir)
    assert done.returncode == 3
    assert done.stderr == "error: no scenario named 'nothing-here' is up\n"


def _kindscape(args: list[str], path: str | None = None, state: Path | None = None):
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    if path is not None:
        env["PATH"] = path
    if state is not None:
        env["KINDSCAPE_STATE_DIR"] = str(state)
    return subprocess.run([sys.executable, "-m", "kindscape", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def test_file_and_name_are_told_apart():
    from kindscape.api import _is_scenario_name
    assert _is_scenario_name("multi-cluster")
    assert not _is_scenario_name("multi-cluster.yaml")
    assert not _is_scenario_name("examples/multi-cluster")
