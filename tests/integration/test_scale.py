"""At scale (a few hundred namespaces, past the kernel's linkwatch batch and its shared
neighbour table limit): the network works the moment `up` returns, from static
neighbours, and `check` reaches everything."""

from __future__ import annotations

from benchmarks import scenarios
from kindscape.linux import nsfs
from kindscape.linux.netlink import NetlinkSocket

import kindscape


def _links_not_up(namespaces: list[str]) -> list[str]:
    def down_here(ns: str) -> list[str]:
        sock = NetlinkSocket.open()
        try:
            return [f"{ns}/{name}" for name, link in sock.links().items() if name != "lo" and not link.up]
        finally:
            sock.close()
    return [name for found in nsfs.run_in_each(namespaces, down_here) for name in found]


def test_hundreds_of_namespaces_work_as_soon_as_up_returns(no_leaks, tmp_path):
    shape = scenarios.shape(250)
    path = tmp_path / "scale.yaml"
    scenarios.write(str(path), "scale", shape)
    with kindscape.up(path) as lab:
        # At once: a burst of link changes leaves links in the kernel's linkwatch queue for up
        # to a second (dropping all they send) unless `up` has them applied.
        not_up = _links_not_up(lab.topology.namespaces())
        report = lab.check()
        neighbours = lab.exec("c0-worker", ["ip", "neigh", "show", "nud", "permanent"]).stdout
    assert not_up == []
    assert report.ok, report.failures[:3]
    assert len(report.results) == shape.probes and all(r.reachable for r in report.results)
    # Every other node and the gateway on kind, and each of its own pods, without ARP.
    nodes = shape.clusters * shape.nodes
    assert len(neighbours.splitlines()) == nodes + shape.pods
