"""`kindscape graph`: a picture of a scenario through Graphviz.

Networks are buses (wide bars) with their subnets; each cluster is a box holding its
nodes (role, InternalIP, podCIDR, interfaces, loopbacks, routes, pods) and its Services;
hosts hang off the networks they are on; each interconnect is a box with an edge to
every cluster it joins; impairments are dashed, labelled edges. The `graphviz` package
writes the DOT text; `dot` (Debian's `graphviz`) lays it out for SVG and PNG (run
through `runner.run`), so a `.dot` file needs nothing but Python.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import TYPE_CHECKING
from dataclasses import dataclass
from pathlib import Path

from ..errors import KindscapeError
from ..runner import run
from ..topology import DOCKER_HOST, Cluster, Topology
from . import graph_labels as labels
from .policy_tables import namespaces_label

if TYPE_CHECKING:
    from ..links import Links

FORMATS = ("svg", "png", "dot")
CLUSTER_FILLS = ("#e8f1fb", "#eaf6e9", "#fdf0e3", "#f3eafa", "#fbe9ee", "#e6f5f5", "#f7f5e1")
CLUSTER_HEADERS = ("#c9def5", "#cfe9cc", "#f8d9b8", "#e1cdf2", "#f5cbd7", "#c4e6e6", "#ece6b3")
NETWORK_COLORS = ("#1f5fa8", "#2e8b57", "#b8860b", "#8b3a8b", "#b22222", "#20737a")
INTERCONNECT_COLOR = "#d2691e"
IMPAIRMENT_COLOR = "#c0392b"
SPLIT_AT = 7  # node and host boxes in one row before the clusters go in two rows


@dataclass(frozen=True)
class LinkEffect:
    """An impairment or a partition as the graph draws it: a dashed box between two sides."""

    sides: tuple[str, str]
    label: str


def link_effects(links: "Links") -> list[LinkEffect]:
    """A scenario's impairments and partitions (`links.Links`: the file's, or a running
    scenario's as they are now) as labelled effects, one per pair of sides: a partition
    and an impairment of the same pair share one box."""
    from ..links import impairment_json
    from ..measures import settings_text
    labels_by_pair: dict[tuple[str, str], list[str]] = {}
    for one, other in links.partitions:
        labels_by_pair.setdefault((one, other), []).append("partitioned")
    for item in links.impairments:
        pair = item.sides if item.sides in labels_by_pair or item.sides[::-1] not in labels_by_pair \
            else item.sides[::-1]
        labels_by_pair.setdefault(pair, []).append(settings_text(impairment_json(item)) or "impaired")
    return [LinkEffect(pair, "; ".join(texts)) for pair, texts in labels_by_pair.items()]


def build(topology: Topology, title: str, effects: Sequence[LinkEffect] = ()):
    """The scenario as a `graphviz.Digraph` (nothing is laid out or written yet)."""
    graphviz = _graphviz_package()
    # A digraph whose edges have no arrows: `dot` keeps a flat edge's tail left of its head
    # (KIND's node order) and ranks by edge direction (which side of a bus things go).
    graph = graphviz.Digraph(topology.scenario, graph_attr={
        "label": title, "labelloc": "t", "fontsize": "18", "fontname": labels.FONT,
        "compound": "true", "newrank": "true", "remincross": "false", "nodesep": "0.35", "ranksep": "0.6",
        "pad": "0.3", "splines": "true",
    }, node_attr={"fontname": labels.FONT, "fontsize": "10", "shape": "plaintext"},
        edge_attr={"fontname": labels.FONT, "fontsize": "9", "penwidth": "1.3", "dir": "none"})
    Drawing(graph, topology).draw(effects)
    return graph


@dataclass(frozen=True)
class Layout:
    """Where things go. The first network (kind) is a bus across the top with docker-host;
    clusters and hosts hang below it in one row or, when that row would be wider than
    SPLIT_AT boxes, in two rows around the bus: the first half above, left to right, the
    rest below, right to left, so the clusters an interconnect joins stay close. Every
    other network is a bus outside the side most of its members are on."""

    above: tuple[str, ...]  # clusters and hosts above the primary bus, left to right
    below: tuple[str, ...]
    network_above: dict[str, bool]  # extra network -> its bus is above everything

    @classmethod
    def of(cls, topology: Topology) -> "Layout":
        sizes = {c.name: len(c.nodes) for c in _neighbourly_order(topology)}
        sizes.update({h.name: 1 for h in topology.hosts})
        units, total = list(sizes), sum(sizes.values())
        above: list[str] = []
        if total > SPLIT_AT:
            while units and sum(sizes[u] for u in above) * 2 < total:
                above.append(units.pop(0))
            units.reverse()
        sides = {}
        for network in topology.networks[1:]:
            members = _members(topology, network.name)
            sides[network.name] = sum(m in above for m in members) * 2 > len(members)
        return cls(tuple(above), tuple(units), sides)


def _neighbourly_order(topology: Topology) -> list[Cluster]:
    """The clusters in the file's order, except that the clusters an interconnect joins
    follow each other (partners of the latest placed first)."""
    partners = {c.name: [] for c in topology.clusters}
    for item in topology.interconnects:
        for name in item.clusters:
            partners[name] += [other for other in item.clusters if other != name]
    placed: list[str] = []
    for cluster in topology.clusters:
        pending = [cluster.name]
        while pending:
            name = pending.pop(0)
            if name in placed:
                continue
            placed.append(name)
            pending = [p for p in partners[name] if p not in placed] + pending
    return [topology.cluster(name) for name in placed]


def _members(topology: Topology, network: str) -> list[str]:
    """The clusters and hosts with an interface on `network`."""
    found = [c.name for c in topology.clusters if any(n.address_on(network) for n in c.nodes)]
    return found + [h.name for h in topology.hosts if any(a.network == network for a in h.attachments)]


class Drawing:
    """Places one topology's parts on one graph (ids, colours, sides of the buses)."""

    def __init__(self, graph, topology: Topology):
        self.graph = graph
        self.topology = topology
        self.layout = Layout.of(topology)
        self.primary = topology.networks[0].name
        self.colors = {n.name: NETWORK_COLORS[i % len(NETWORK_COLORS)]
                       for i, n in enumerate(topology.networks)}

    def draw(self, effects: Sequence[LinkEffect]) -> None:
        self._networks()
        index = {c.name: i for i, c in enumerate(self.topology.clusters)}
        hosts = {h.name: h for h in self.topology.hosts}
        for unit in self.layout.above + self.layout.below:  # declared in the layout's order
            if unit in hosts:
                self._host(hosts[unit])
            else:
                self._cluster(index[unit], self.topology.cluster(unit))
        self._keep_order()
        self._interconnects()
        self._effects(effects)

    # Networks ------------------------------------------------------------------
    def _networks(self) -> None:
        with self.graph.subgraph(name="primary") as rank:
            rank.attr(rank="same")
            docker = self.topology.docker_host
            rank.node(node_id(DOCKER_HOST), labels.docker_host_label(docker, self.topology.networks))
            self._bus(rank, self.topology.networks[0])
        self.graph.edge(node_id(DOCKER_HOST), bus_id(self.primary), color="#888888",
                        label=f"  {labels.addresses(self.topology.networks[0].gateways)}  ",
                        fontcolor="#555555")
        for network in self.topology.networks[1:]:
            self._bus(self.graph, network)

    def _bus(self, where, network) -> None:
        color = self.colors[network.name]
        width = max(4.0, 1.4 * len(_members(self.topology, network.name)))
        where.node(bus_id(network.name), labels.network_label(network), shape="box", style="filled",
                   fillcolor=color, color=color, fontcolor="white", width=f"{width:.1f}",
                   height="0.32")

    def _attach(self, endpoint: str, unit: str, networks: Sequence[str]) -> None:
        """Edges from an endpoint to the buses of its networks. Edge direction is rank
        order for `dot`: it puts the endpoint on its side of the primary bus, and an
        extra bus beyond the endpoints that are also on the primary network."""
        above = unit in self.layout.above
        between = self.primary in networks
        for network in networks:
            color = self.colors[network]
            if network == self.primary:
                bus_first = not above
                constraint = True
            else:
                bus_above = self.layout.network_above[network]
                bus_first = bus_above if between else not bus_above
                constraint = bus_above == above or not between
            ends = (bus_id(network), endpoint) if bus_first else (endpoint, bus_id(network))
            self.graph.edge(*ends, color=color, constraint="true" if constraint else "false")

    # Clusters, nodes, services, hosts -------------------------------------------
    def _cluster(self, index: int, cluster: Cluster) -> None:
        above = cluster.name in self.layout.above
        fill = CLUSTER_FILLS[index % len(CLUSTER_FILLS)]
        header = CLUSTER_HEADERS[index % len(CLUSTER_HEADERS)]
        with self.graph.subgraph(name=cluster_id(cluster.name)) as box:
            # The title goes on the side away from the buses, where no edge crosses it.
            box.attr(label=labels.cluster_label(cluster), labelloc="t" if above else "b", labeljust="l",
                     style="rounded,filled", fillcolor=fill,
                     color="#888888", fontname=labels.FONT, fontsize="13", margin="12")
            with box.subgraph() as row:
                row.attr(rank="same")
                for node in cluster.nodes:
                    row.node(node_id(node.name), labels.node_label(node, header))
            if cluster.services:
                box.node(services_id(cluster.name), labels.services_label(cluster.services))
                self._beside(box, cluster, above)
            spaces = namespaces_label(cluster)
            if spaces is not None:
                box.node(f"{services_id(cluster.name)}_ns", spaces)
                self._beside(box, cluster, above, f"{services_id(cluster.name)}_ns")
        for node in cluster.nodes:
            self._attach(node_id(node.name), cluster.name, [a.network for a in node.attachments])

    def _beside(self, box, cluster: Cluster, above: bool, what: str | None = None) -> None:
        """Services (and namespaces) sit on the far side of their cluster from the buses."""
        anchor = node_id(cluster.nodes[0].name)
        what = what or services_id(cluster.name)
        if above:
            box.edge(what, anchor, style="invis")
        else:
            box.edge(anchor, what, style="invis")

    def _host(self, host) -> None:
        self.graph.node(node_id(host.name), labels.host_label(host))
        self._attach(node_id(host.name), host.name, [a.network for a in host.attachments])

    def _row(self, units: Sequence[str]) -> list[str]:
        """The boxes of a row of clusters and hosts that hang off the primary bus."""
        boxes = []
        for unit in units:
            if any(c.name == unit for c in self.topology.clusters):
                boxes += [node_id(n.name) for n in self.topology.cluster(unit).nodes
                          if n.address_on(self.primary)]
            elif any(a.network == self.primary for h in self.topology.hosts if h.name == unit
                     for a in h.attachments):
                boxes.append(node_id(unit))
        return boxes

    def _keep_order(self) -> None:
        """Keep each row in the layout's order: dot keeps a flat edge's tail left of its
        head (newrank lets a rank cross cluster boxes)."""
        for units in (self.layout.above, self.layout.below):
            row = self._row(units)
            with self.graph.subgraph() as same:
                same.attr(rank="same")
                for one, two in zip(row, row[1:]):
                    same.edge(one, two, style="invis")

    # Edges between clusters -----------------------------------------------------
    def _interconnects(self) -> None:
        """One box per interconnect, an edge to each cluster it joins. The box goes on the
        outer side of its clusters' row, or on the bus's rank when they are on both sides;
        its edges do not constrain the layout (they would reorder the clusters)."""
        for index, item in enumerate(self.topology.interconnects, start=1):
            what = ["pod routes"] if item.pods else []
            if item.services:
                what.append("service routes")
            what.append("masqueraded" if item.masquerade else "pod IPs kept")
            hub = f"interconnect.{index}"
            sides = {name in self.layout.above for name in item.clusters}
            with self.graph.subgraph(name="primary" if len(sides) > 1 else None) as where:
                joins = " ↔ ".join(item.clusters) if len(item.clusters) <= 3 else f"{len(item.clusters)} clusters"
                where.node(hub, f"interconnect {index}: {joins}\n" + ", ".join(what), shape="box",
                           style="rounded,bold", color=INTERCONNECT_COLOR,
                           fontcolor=INTERCONNECT_COLOR, fontsize="11")
            if len(sides) == 1:
                self._outside(hub, item.clusters, above=sides.pop())
            for name in item.clusters:
                self.graph.edge(self._anchor(name), hub, ltail=cluster_id(name), constraint="false",
                                color=INTERCONNECT_COLOR, style="bold", penwidth="2.2")

    def _outside(self, box: str, clusters: Sequence[str], above: bool) -> None:
        """Put `box` beyond the row of `clusters`, under (or over) their middle node."""
        nodes = [node_id(n.name) for name in clusters for n in self.topology.cluster(name).nodes]
        middle = nodes[(len(nodes) - 1) // 2]
        self.graph.edge(*((box, middle) if above else (middle, box)), style="invis")

    def _anchor(self, cluster: str) -> str:
        return node_id(self.topology.cluster(cluster).nodes[-1].name)

    def _effects(self, effects: Sequence[LinkEffect]) -> None:
        """One dashed box per pair of sides, saying what is between them (partitioned, the
        impairment's settings), with a dashed edge to each side: to a cluster's box, not to
        one of its nodes, so a cut between clusters is drawn between the clusters. The box
        goes beyond its clusters' row when both are on one side of the bus, as an
        interconnect's does."""
        for index, effect in enumerate(effects, start=1):
            hub = f"effect.{index}"
            self.graph.node(hub, f"{effect.sides[0]} - {effect.sides[1]}\n{effect.label}", shape="box",
                            style="dashed,rounded", color=IMPAIRMENT_COLOR, fontcolor=IMPAIRMENT_COLOR,
                            fontsize="11", penwidth="2")
            clusters = [side for side in effect.sides if any(c.name == side for c in self.topology.clusters)]
            rows = {name in self.layout.above for name in clusters}
            if len(clusters) == 2 and len(rows) == 1:
                self._outside(hub, clusters, above=rows.pop())
            for side in effect.sides:
                node, box = self._side(side)
                self.graph.edge(node, hub, **({"ltail": box} if box else {}), color=IMPAIRMENT_COLOR,
                                style="dashed", penwidth="2", constraint="false", arrowhead="none")

    def _side(self, side: str) -> tuple[str, str | None]:
        """The graph node an impairment's side names (a cluster is its box)."""
        if any(c.name == side for c in self.topology.clusters):
            return self._anchor(side), cluster_id(side)
        if any(n.name == side for n in self.topology.networks):
            return bus_id(side), None
        if side == DOCKER_HOST or self.topology.node(side) or any(h.name == side for h in self.topology.hosts):
            return node_id(side), None
        self.graph.node(node_id(side), side, shape="box", style="dashed")  # shown, not lost
        return node_id(side), None


def node_id(name: str) -> str:
    return f"ep.{name}"


def bus_id(network: str) -> str:
    return f"net.{network}"


def cluster_id(name: str) -> str:
    return f"cluster_{name}"  # Graphviz draws subgraphs named cluster* as boxes


def services_id(cluster: str) -> str:
    return f"svc.{cluster}"


def _graphviz_package():
    try:
        import graphviz
    except ImportError:
        raise KindscapeError("kindscape graph needs the `graphviz` Python package: "
                             "pip install graphviz") from None
    return graphviz


def output_format(path: str | Path) -> str:
    """The format a file name asks for: .svg, .png or .dot (also .gv)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = "dot" if suffix == "gv" else suffix
    if fmt not in FORMATS:
        raise KindscapeError(f"cannot write {str(path)!r}: the file name must end in .svg, .png or .dot")
    return fmt


def write(graph, path: str | Path) -> Path:
    """Write the graph to `path` in the format its suffix names. SVG and PNG need `dot`."""
    target = Path(path)
    fmt = output_format(target)
    if fmt == "dot":
        try:
            target.write_text(graph.source, encoding="utf-8")
        except OSError as exc:
            raise KindscapeError(f"cannot write {str(target)!r}: {exc.strerror}") from None
        return target
    if shutil.which("dot") is None:
        raise KindscapeError(f"writing {fmt.upper()} needs Graphviz's `dot` program, which is not "
                             "installed: install the Debian/Ubuntu package `graphviz` "
                             "(apt-get install graphviz), or write a .dot file instead")
    run(["dot", f"-T{fmt}", "-o", str(target)], input=graph.source)
    return target
