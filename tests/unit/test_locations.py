"""Locations are typed values: built from their parts, read by their parts, shown as the
text plans and status always showed, and kept in state files as JSON objects."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace
from pathlib import Path

from kindscape import codec, scenario
from kindscape.topology import HostNamespace, InContainer, NamedNetns
from kindscape.topology import location_from_json as from_json
from kindscape.topology import Topology

SEED = Path(__file__).resolve().parents[2] / "examples" / "multi-cluster.yaml"


def test_each_location_reads_by_its_parts_and_shows_as_before():
    pod = InContainer("kind-worker", "cni-1234")
    assert (pod.container, pod.netns) == ("kind-worker", "cni-1234")
    assert pod == "container:kind-worker:cni-1234" and InContainer("vm1") == "container:vm1"
    assert HostNamespace() == "host" and NamedNetns("ks.demo.vm1").name == "ks.demo.vm1"
    for where in (pod, InContainer("vm1"), HostNamespace(), NamedNetns("ks.demo.vm1")):
        assert type(from_json(where.to_json())) is type(where) and from_json(where.to_json()) == where
        for twin in (copy.deepcopy(where), pickle.loads(pickle.dumps(where))):
            assert type(twin) is type(where) and twin == where and twin.to_json() == where.to_json()


def test_a_topology_keeps_its_locations_typed_through_the_state_file():
    planned = scenario.load(SEED).topology
    node = planned.nodes[0]
    assert isinstance(node.netns, NamedNetns)
    real = replace(planned, clusters=(replace(planned.clusters[0], nodes=(
        replace(node, netns=InContainer(node.name), pods=tuple(replace(p, netns=InContainer(node.name, "cni-1"))
                                                               for p in node.pods)),)),),
        docker_host=replace(planned.docker_host, netns=HostNamespace()))
    back = codec.decode(Topology, codec.encode(real))
    assert back == real
    assert isinstance(back.nodes[0].netns, InContainer) and back.nodes[0].pods[0].netns.netns == "cni-1"
    assert isinstance(back.docker_host.netns, HostNamespace)
    assert isinstance(codec.decode(Topology, codec.encode(planned)).hosts[0].netns if planned.hosts
                      else codec.decode(Topology, codec.encode(planned)).nodes[0].netns, NamedNetns)


def test_a_state_file_written_with_bare_names_reads_them_as_namespaces():
    assert type(from_json("ks.demo.vm1")) is NamedNetns and from_json("") == ""
