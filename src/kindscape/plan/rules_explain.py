"""How the rulesets of `rules.py` decide a packet (see `decide.py`): kindnet's
KIND-MASQ-AGENT on every node, Docker's masquerade and isolation in docker-host.

Not a second model: each explainer evaluates the very tables `rules.py` describes and
renders into nft text (nftables.py), the table of the namespace the packet is in."""

from __future__ import annotations

from ..topology import Topology
from . import rules
from .decide import Decision, Hook, Packet, Place
from .nftables import Table


class _Described:
    """The tables of one name, by namespace, made once per topology (trace asks at every hop)."""

    name = ""

    def __init__(self) -> None:
        self.table = f"inet {self.name}"
        self._seen: tuple[Topology | None, dict[str, Table]] = (None, {})

    def _tables(self, topology: Topology) -> dict[str, Table]:
        seen, tables = self._seen
        if seen is not topology:
            tables = {ns: table for ns, table, _ in rules.described(topology) if table.name == self.name}
            self._seen = (topology, tables)
        return tables

    def decide(self, topology: Topology, place: Place, hook: Hook, packet: Packet) -> Decision | None:
        table = self._tables(topology).get(place.ns)
        return table.decide(place, hook, packet) if table is not None else None


class KindnetMasquerade(_Described):
    """KIND-MASQ-AGENT: traffic leaving a node for anything outside its cluster's podSubnet
    (and outside interconnected clusters' podSubnets) is masqueraded to the node."""

    name = rules.KINDNET_TABLE


class DockerNetworks(_Described):
    """Docker's bridge networks in docker-host: no forwarding from one network's bridge to
    another's (isolation), and masquerade of a network's traffic leaving it."""

    name = rules.DOCKER_TABLE
