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

import shlex
import shutil
from dataclasses import dataclass, replace

from ...plan import link_faults as core_links
from ...plan.link_faults import IMPAIR_TABLE, PARTITION_TABLE, LinkOp, LinkRules, Shaping
from ...runner import run
from ...topology import HostNamespace, InContainer, Location
from ...topology import Attachment, Impairment, Topology
from ...linux import shaping
from .docker_side import DockerSide
from .facts import DOCKER_HOST_NS, container_ns, netns_path
from .ops import Phase, shell_var

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


# The plan's rendering ------------------------------------------------------------------
@dataclass(frozen=True)
class HostVeth:
    """The Docker host's end of a container's interface (Docker names it vethXXXX): found
    by the interface's peer index (`@ifN` inside the container)."""

    container: str
    ifname: str

    @property
    def var(self) -> str:
        return shell_var("VETH", self.container, self.ifname)

    def lookup(self) -> str:
        inside = (f"nsenter --net=/proc/$(docker inspect -f '{{{{.State.Pid}}}}' {self.container})/ns/net "
                  f"ip -o link show dev {self.ifname}")
        return (f"ip -o link | awk -F': ' -v i=\"$({inside} | sed -E 's/.*@if([0-9]+).*/\\1/')\" "
                "'$1 == i {sub(/@.*/, \"\", $2); print $2}'")


@dataclass(frozen=True)
class ApplyLinks:
    """The file's impairments, as `up` puts them in place. The rendering shows them for the
    planned addresses (Docker's IPAM picks the nodes' addresses on `kind`): `up` computes
    the same rules from the addresses Docker and Kubernetes really gave."""

    scenario: str
    impairments: tuple[Impairment, ...]
    ops: tuple[LinkOp, ...]
    veths: tuple[HostVeth, ...]
    phase = Phase.LINKS

    def shell(self) -> str:
        lines = ["# rules as planned: up uses the addresses Docker and Kubernetes gave"]
        lines += [f"{v.var}=$({v.lookup()})" for v in self.veths]
        for op in self.ops:
            lines.append(_command(op))
        return "\n".join(lines)


def _enter(ns: Location) -> str:
    if not isinstance(ns, InContainer):
        return ""  # the Docker host: here
    return f"nsenter --net=/proc/$(docker inspect -f '{{{{.State.Pid}}}}' {shlex.quote(ns.container)})/ns/net "


def _command(op: LinkOp) -> str:
    if isinstance(op, Shaping):
        body = "".join(line + "\n" for line in op.commands)
        return f"{_enter(op.ns)}tc -batch - <<EOF  # {op.comment}\n{body}EOF"
    return f"{_enter(op.ns)}nft -f - <<EOF  # {op.comment}\n{op.text}EOF"


def plan_link_ops(topology: Topology, host_containers: dict[str, str]) -> list:
    """The file's impairments on the planned topology, seen as the kind runtime sees it:
    containers' namespaces, Docker's interface names (eth0 first, then in connect order)."""
    if not topology.impairments:
        return []
    veths: dict[str, HostVeth] = {}
    seen = _as_containers(topology, host_containers, veths)
    ops = link_ops(seen, seen.impairments)
    used = tuple(v for v in veths.values() if any(f"${v.var}" in _text(op) for op in ops))
    return [ApplyLinks(topology.scenario, topology.impairments, tuple(ops), used)]


def _text(op: LinkOp) -> str:
    return op.text if isinstance(op, LinkRules) else "\n".join(op.commands) + op.dev


def _as_containers(topology: Topology, host_containers: dict[str, str], veths: dict) -> Topology:
    def attachments(container: str, found: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
        result = []
        for index, attachment in enumerate(found):
            veth = HostVeth(container, f"eth{index}")
            veths[veth.var] = veth
            result.append(replace(attachment, ifname=veth.ifname, peer=f"${veth.var}"))
        return tuple(result)

    clusters = tuple(replace(c, nodes=tuple(replace(n, netns=container_ns(n.name),
                                                    attachments=attachments(n.name, n.attachments))
                                            for n in c.nodes)) for c in topology.clusters)
    hosts = tuple(replace(h, netns=container_ns(host_containers[h.name]),
                          attachments=attachments(host_containers[h.name], h.attachments))
                  for h in topology.hosts)
    return replace(topology, clusters=clusters, hosts=hosts,
                   docker_host=replace(topology.docker_host, netns=DOCKER_HOST_NS))
