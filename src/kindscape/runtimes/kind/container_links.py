"""Impairments and partitions on KIND clusters: the same operations as the netns runtime
(`plan/link_faults.py`: an nftables netdev table per namespace, tc htb classes and netem
leaves), put into the node and host containers' network namespaces with this machine's
`tc` and `nft` (`nsenter --net=/proc/<pid>/ns/net`): KIND nodes need no tools of their
own, and the kernel is the same, so the same kernel features apply (and are refused the
same way when missing).

Where they go: a cluster, node or host side's traffic leaves through its containers'
interfaces (eth0 on `kind`, eth1... on the networks `docker network connect` added); a
network side's leaves through the Docker host's end of the peer's interface (`vethXXXX`,
Docker's name). Those tables live in the machine's own namespace, shared with everyone:
they are named for the scenario (`kindscape-impair-<scenario>`), and `down` removes them
(a netdev table outlives the interfaces its chains were bound to).
"""

from __future__ import annotations

import ipaddress
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ... import sides
from ...plan import link_faults as core_links
from ...plan.link_faults import IMPAIR_TABLE, PARTITION_TABLE, Flow, LinkOp, Shaping
from ...runner import run
from ...sides import Addresses
from ...topology import Attachment, HostNamespace, Impairment, InContainer, IPNet, Location, Topology
from ...linux import shaping
from .docker_side import DockerSide
from .facts import DOCKER_HOST_NS, container_ns, netns_path
from .ops import AddressRef, HostVeth, Phase, Value

TABLES = (IMPAIR_TABLE, PARTITION_TABLE)


def host_table(table: str, scenario: str) -> str:
    """The name of a link table in the machine's own namespace (one per scenario)."""
    return f"{table}-{scenario}"


def link_ops(topology: Topology, impairments: tuple[Impairment, ...],
             partitions: tuple[tuple[str, str], ...] = ()) -> list[LinkOp]:
    """The link operations of a topology whose endpoints live in containers (the real one,
    or the planned one seen as containers): the Docker host's tables named for the scenario."""
    def table_name(ns: str, table: str) -> str:
        return host_table(table, topology.scenario) if isinstance(ns, HostNamespace) else table
    return core_links.plan_links(topology, impairments, partitions, table_name)


def apply(docker: DockerSide, desired: list[LinkOp], previous: list[LinkOp], progress) -> int:
    """As the netns runtime applies them (one tc batch and one nft transaction per
    namespace, resets first), each namespace entered through its container's pid."""
    return shaping.apply(core_links.changes(desired, previous), progress,
                         path_of=lambda ns: netns_path(docker, ns))


def remove_host_tables(scenario: str) -> list[str]:
    """The scenario's tables in the machine's own namespace, if any (`down`). Without nft
    on this machine no scenario could have made one."""
    if shutil.which("nft") is None:
        return []
    removed = []
    for table in TABLES:
        name = host_table(table, scenario)
        if run(["nft", "list", "table", "netdev", name], check=False).returncode == 0:
            run(["nft", "delete", "table", "netdev", name])
            removed.append(f"nft table netdev {name}")
    return removed


# Impairments in the plan ------------------------------------------------------------------
@dataclass(frozen=True)
class ImpairLinks:
    """The file's impairments, as `up` puts them in place: the flows of plan/link_faults.py
    on the planned topology seen as containers, where an address Docker or Kubernetes
    picks stands as an `AddressRef` and the Docker host's end of an interface as a
    `HostVeth`. The script writes them as shell variables (the Discover steps set them);
    `up` resolves them to what Docker and Kubernetes gave, then writes the same rules."""

    scenario: str
    flows: tuple[Flow, ...]
    phase = Phase.LINKS

    def as_written(self) -> list[LinkOp]:
        """The operations as the script writes them: references as its shell variables."""
        return core_links.link_ops(list(self.flows), self._table_name, _script_text)

    def _table_name(self, ns: str, table: str) -> str:
        return host_table(table, self.scenario) if isinstance(ns, HostNamespace) else table

    def refs(self) -> list:
        """Every value the flows stand in for, once, in the flows' order."""
        found = [f.dev for f in self.flows if isinstance(f.dev, HostVeth)]
        found += [entry.ref for f in self.flows for entry in f.sources.nets + f.targets.nets
                  if isinstance(entry, AddressRef)]
        return list(dict.fromkeys(found))

    def resolved(self, value: Callable[[Any], str]) -> list[LinkOp]:
        """The operations with every reference's value (`value`): each set of addresses
        collapsed, as the runtime's impair and heal compute them on the real topology."""
        def addresses(found: Addresses) -> Addresses:
            nets = [ipaddress.ip_network(value(e.ref)) if isinstance(e, AddressRef) else e for e in found.nets]
            return Addresses(tuple(sides.collapse(nets)), found.exclude)
        flows = [replace(f, dev=value(f.dev) if isinstance(f.dev, HostVeth) else f.dev,
                         sources=addresses(f.sources), targets=addresses(f.targets)) for f in self.flows]
        return core_links.link_ops(flows, self._table_name)

    def shell(self) -> str:
        return "\n".join(_command(op) for op in self.as_written())


def _script_text(value: Any) -> str:
    if isinstance(value, AddressRef):
        return f"${value.ref.var}"
    if isinstance(value, HostVeth):
        return f"${value.var}"
    return core_links.literal(value)


def _enter(ns: Location) -> str:
    if not isinstance(ns, InContainer):
        return ""  # the Docker host: here
    return f"nsenter --net=/proc/$(docker inspect -f '{{{{.State.Pid}}}}' {shlex.quote(ns.container)})/ns/net "


def _command(op: LinkOp) -> str:
    if isinstance(op, Shaping):
        body = "".join(line + "\n" for line in op.commands)
        return f"{_enter(op.ns)}tc -batch - <<EOF  # {op.comment}\n{body}EOF"
    return f"{_enter(op.ns)}nft -f - <<EOF  # {op.comment}\n{op.text}EOF"


def plan_impairments(topology: Topology, host_containers: dict[str, str],
                     reference: Callable[[IPNet], Value]) -> list[ImpairLinks]:
    """The file's impairments on the planned topology, seen as the kind runtime sees it:
    containers' namespaces, Docker's interface names (eth0 first, then in connect order).
    `reference(net)`: what stands for an address or prefix Docker or Kubernetes picks (the
    planner's references), or the text the file fixes."""
    if not topology.impairments:
        return []
    veths: dict[str, HostVeth] = {}
    seen = _as_containers(topology, host_containers, veths)

    def entry(net: IPNet) -> Any:
        ref = reference(net)
        return net if isinstance(ref, str) else AddressRef(ref, net.version)

    def addresses(found: Addresses) -> Addresses:
        return Addresses(tuple(map(entry, found.nets)), found.exclude)
    flows = [replace(f, dev=veths[f.dev] if isinstance(f.ns, HostNamespace) else f.dev,
                     sources=addresses(f.sources), targets=addresses(f.targets))
             for f in core_links.flows(seen, seen.impairments, exact=True)]
    return [ImpairLinks(topology.scenario, tuple(flows))]


def _as_containers(topology: Topology, host_containers: dict[str, str], veths: dict[str, HostVeth]) -> Topology:
    """Nodes and hosts in their containers, each interface `eth<N>`; its Docker host end
    (`veths`: by the name it has in this topology) stands for the one Docker makes."""
    def attachments(container: str, found: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
        result = []
        for index, attachment in enumerate(found):
            veth = HostVeth(container, f"eth{index}")
            veths[veth.var] = veth
            result.append(replace(attachment, ifname=veth.ifname, peer=veth.var))
        return tuple(result)

    clusters = tuple(replace(c, nodes=tuple(replace(n, netns=container_ns(n.name),
                                                    attachments=attachments(n.name, n.attachments))
                                            for n in c.nodes)) for c in topology.clusters)
    hosts = tuple(replace(h, netns=container_ns(host_containers[h.name]),
                          attachments=attachments(host_containers[h.name], h.attachments))
                  for h in topology.hosts)
    return replace(topology, clusters=clusters, hosts=hosts,
                   docker_host=replace(topology.docker_host, netns=DOCKER_HOST_NS))
