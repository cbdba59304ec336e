"""Allocation: turn a checked spec into a `Topology`, as Docker's IPAM, KIND and the
kube-controller-manager would hand out addresses and podCIDRs. Problems it finds
(taken addresses, exhausted subnets, unreachable next hops) are located like the rest."""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass, field, replace

from .. import topology as topo
from ..topology import Attachment, IPAddr, IPNet
from . import families, naming, services, workloads
from .validate import KIND_NETWORK, Context, parse_addr, parse_net
from .yamlsource import Path


class AddressPool:
    """Docker IPAM's behaviour on one subnet: next free host address, never the gateway."""

    def __init__(self, subnet: IPNet, gateway: IPAddr):
        self.subnet = subnet
        self.taken: set[IPAddr] = {gateway}
        self._hosts = subnet.hosts()

    def reserve(self, address: IPAddr) -> str | None:
        """Take a static address; returns why not, or None."""
        if address not in self.subnet or address in (self.subnet.network_address,
                                                     self.subnet.broadcast_address):
            return f"outside the network's subnet {self.subnet}"
        if address in self.taken:
            return "already taken (the gateway or another static address)"
        self.taken.add(address)
        return None

    def next(self) -> IPAddr | None:
        for address in self._hosts:
            if address not in self.taken:
                self.taken.add(address)
                return address
        return None


@dataclass
class NodeExtras:
    """What the `nodes:` entries add to one node, merged over all entries that select it."""

    networks: list[str] = field(default_factory=list)
    loopback: tuple[IPAddr, ...] = ()  # one per family, as the prefixes were written
    routes: list[tuple[topo.StaticRoute, Path]] = field(default_factory=list)
    node_address: str = "primary"
    path: Path = ()


class Allocator:
    def __init__(self, ctx: Context, networks: dict[str, tuple]):
        self.ctx = ctx
        ordered = [KIND_NETWORK] + [n.name for n in ctx.spec.networks if n.name != KIND_NETWORK]
        masq = {n.name: n.masquerade for n in ctx.spec.networks}
        declared = set(masq)
        self.networks = []
        for index, name in enumerate(n for n in ordered if n in networks):
            subnets, gateways = networks[name]
            self.networks.append(topo.Network(name, index, naming.bridge_name(name, index),
                                              subnets, gateways, masq.get(name, True),
                                              name in declared))
        # One pool per subnet (family): a dual-stack network hands out one address of each.
        self.pools = {n.name: [AddressPool(s, g) for s, g in zip(n.subnets, n.gateways)]
                      for n in self.networks}
        self.peer_seq = 0

    def next_peer(self) -> str:
        self.peer_seq += 1
        return f"veth{self.peer_seq}"

    def attach(self, network: str, ifname: str, path: Path,
               statics: tuple[IPAddr, ...] = ()) -> Attachment | None:
        """An interface on `network` with one address per subnet (a static one where given)."""
        addresses = []
        for pool in self.pools[network]:
            static = next((a for a in statics if a.version == pool.subnet.version), None)
            address = static if static is not None else pool.next()
            if address is None:
                self.ctx.add(path, f"network {network} has no free address left", str(pool.subnet),
                             "use a larger subnet")
                return None
            addresses.append(address)
        return Attachment(network, ifname, self.next_peer(), tuple(addresses))

    def pool(self, network: str, version: int) -> AddressPool | None:
        return next((p for p in self.pools[network] if p.subnet.version == version), None)

    def subnets(self, network: str) -> list[IPNet]:
        return [p.subnet for p in self.pools[network]]


def resolve(ctx: Context, networks: dict[str, tuple], selected: dict[int, list[str]]) -> topo.Topology | None:
    alloc = Allocator(ctx, networks)
    statics = _reserve_host_addresses(ctx, alloc)
    extras = _merge_node_extras(ctx, alloc, selected)
    clusters = tuple(_build_cluster(ctx, alloc, index, extras)
                     for index in range(len(ctx.spec.clusters)))
    hosts = tuple(_build_host(ctx, alloc, index, statics.get(index))
                  for index in range(len(ctx.spec.hosts)))
    if ctx.problems or any(c is None for c in clusters) or any(h is None for h in hosts):
        return None
    clusters = tuple(workloads.with_workloads(ctx, c) for c in clusters)  # type: ignore[arg-type]
    clusters = tuple(replace(c, policies=tuple(p for p in ctx.policies if p.cluster == c.name))
                     for c in clusters)
    clusters = services.resolve_services(ctx, alloc.pools, clusters)
    if ctx.problems:
        return None
    scenario = ctx.spec.name
    docker = ctx.spec.dockerHost
    result = topo.Topology(
        scenario=scenario,
        networks=tuple(alloc.networks),
        clusters=clusters,
        hosts=hosts,
        docker_host=topo.DockerHost(topo.netns_name(scenario, topo.DOCKER_HOST),
                                    tuple(docker.routesTo), tuple(docker.serviceRoutesTo)),
        interconnects=tuple(_interconnects(ctx)),
        expectations=tuple(expectation(e) for e in ctx.spec.expect),
        expectation_sets=tuple(topo.ExpectationSet(name, tuple(expectation(e) for e in items))
                               for name, items in ctx.spec.expectWhen.items()),
    )
    return result


def expectation(spec) -> topo.Expectation:
    """An `expect` item of the file as the topology holds it."""
    return topo.Expectation(spec.from_, spec.to, spec.reachable, spec.sourcePreserved, spec.port, spec.protocol,
                            (spec.seenSource,) if spec.seenSource is not None else None,
                            tuple(spec.answeredBy) if spec.answeredBy is not None else None)


def _reserve_host_addresses(ctx: Context, alloc: Allocator) -> dict[int, tuple[IPAddr, ...]]:
    """Hosts' static addresses (one per family, `a` or `a,b`) on their primary network."""
    statics = {}
    for index, host in enumerate(ctx.spec.hosts):
        if host.address is None or not host.networks or host.networks[0] not in alloc.pools:
            continue
        path = ("hosts", index, "address")
        network = host.networks[0]
        found = families.split_per_family(ctx, host.address, path, "address", parse_addr) or ()
        for address in found:
            pool = alloc.pool(network, address.version)
            why = pool.reserve(address) if pool else \
                f"outside the network's subnets {', '.join(map(str, alloc.subnets(network)))}"
            if why:
                ctx.add(path, f"address {why}", str(address) if len(found) > 1 else host.address,
                        f"a free address of network {network}")
        statics[index] = found
    return statics


def _merge_node_extras(ctx: Context, alloc: Allocator, selected: dict[int, list[str]]) -> dict[str, NodeExtras]:
    merged: dict[str, NodeExtras] = {}
    for index, entry in enumerate(ctx.spec.nodes):
        path = ("nodes", index)
        for net_index, name in enumerate(entry.networks):
            if name not in alloc.pools:
                ctx.add(path + ("networks", net_index), "unknown network", name,
                        f"declared networks: {', '.join(alloc.pools)}")
            elif name == KIND_NETWORK:
                ctx.add(path + ("networks", net_index), "every node is already on `kind`", name)
        loopbacks = _loopbacks(ctx, entry, path, selected.get(index, []))  # per node: one per family
        routes = _static_routes(ctx, entry, path)
        for position, node in enumerate(selected.get(index, [])):
            extra = merged.setdefault(node, NodeExtras())
            extra.networks += [n for n in entry.networks if n in alloc.pools
                               and n != KIND_NETWORK and n not in extra.networks]
            if loopbacks:
                if extra.loopback:
                    ctx.add(path + ("loopback",), f"node {node} already has a loopback", entry.loopback)
                extra.loopback = loopbacks[position]
            extra.routes += routes
            if entry.nodeAddress != "primary":
                extra.node_address, extra.path = entry.nodeAddress, path + ("nodeAddress",)
    return merged


def _loopbacks(ctx: Context, entry, path: Path, nodes: list[str]) -> list[tuple[IPAddr, ...]]:
    """Each selected node's loopback addresses: the next /32 (/128) of each prefix, in node order."""
    if not entry.loopback:
        return []
    per_prefix = []
    for text in entry.loopback.split(","):
        prefix = ipaddress.ip_network(text.strip(), strict=False)
        hosts = itertools.islice(prefix.hosts() if prefix.num_addresses > 1 else [prefix.network_address],
                                 len(nodes))
        found = list(hosts)
        if len(found) < len(nodes):
            ctx.add(path + ("loopback",), f"loopback prefix too small for {len(nodes)} nodes",
                    str(prefix), f"use a /{prefix.max_prefixlen - (len(nodes) + 1).bit_length()} or larger")
            return []
        per_prefix.append(found)
    return list(zip(*per_prefix))


def _static_routes(ctx: Context, entry, path: Path) -> list[tuple[topo.StaticRoute, Path]]:
    routes = []
    for index, route in enumerate(entry.routes):
        to = parse_net(ctx, route.to, path + ("routes", index, "to"), "route destination")
        via = parse_addr(ctx, route.via, path + ("routes", index, "via"), "next hop")
        if to is not None and via is not None:
            routes.append((topo.StaticRoute(to, via), path + ("routes", index, "via")))
    return routes


def _build_cluster(ctx: Context, alloc: Allocator, index: int, extras: dict[str, NodeExtras]):
    spec = ctx.spec.clusters[index]
    info = ctx.networks.get(index)
    if info is None:
        return None
    names = ctx.node_names[spec.name]
    path = ctx.cluster_paths[index] + ("nodes",)
    nodes = []
    for position, (name, role) in enumerate(zip(names, info.roles)):
        node = _build_node(ctx, alloc, spec, info, name, role, position, extras.get(name, NodeExtras()), path)
        if node is None:
            return None
        nodes.append(node)
    return topo.Cluster(spec.name, index, info.ip_family, info.pod_subnets, info.service_subnets,
                        tuple(nodes), info.kube_proxy_mode, kind_config=info.document)


def pod_cidr(subnet: IPNet, position: int) -> IPNet:
    """The position-th node's podCIDR: /24 (IPv4) or /64 (IPv6) slices, in node order."""
    size = 24 if subnet.version == 4 else 64
    offset = position << (subnet.max_prefixlen - size)
    return ipaddress.ip_network((int(subnet.network_address) + offset, size))


def _build_node(ctx, alloc, spec, info, name, role, position, extra: NodeExtras, path: Path):
    """One KIND node: its interfaces, podCIDR, pods and InternalIP (`path`: its cluster's
    `nodes`, where address problems are reported)."""
    scenario = ctx.spec.name
    attachments = [alloc.attach(KIND_NETWORK, "eth0", path)]
    for n, network in enumerate(extra.networks, start=1):
        attachments.append(alloc.attach(network, f"eth{n}", extra.path or ("nodes",)))
    if any(a is None for a in attachments):
        return None
    cidrs = tuple(pod_cidr(subnet, position) for subnet in info.pod_subnets)
    pods = tuple(
        topo.Pod(naming.pod_name(name, k), name, k, topo.netns_name(scenario, naming.pod_name(name, k)),
                 f"vpod{k}", tuple(cidr[1 + k] for cidr in cidrs), tuple(cidr[1] for cidr in cidrs))
        for k in range(1, spec.podsPerNode + 1))
    internal = _internal_ips(ctx, name, attachments, extra, families.families_of(info), path)
    _check_static_routes(ctx, alloc, name, attachments, extra)
    return topo.Node(name, spec.name, role, topo.netns_name(scenario, name), tuple(attachments),
                     internal, cidrs, pods, extra.loopback, tuple(r for r, _ in extra.routes),
                     extra.node_address)


def _internal_ips(ctx: Context, node: str, attachments: list[Attachment], extra: NodeExtras,
                  wanted: tuple[int, ...], path: Path) -> tuple[IPAddr, ...]:
    """The node's InternalIPs (kubelet --node-ip): one per family of its cluster, primary first."""
    primary = families.in_families(attachments[0].addresses, wanted)
    choice = extra.node_address
    if choice == "primary":
        return _all_families(ctx, node, primary, wanted, f"network {KIND_NETWORK}", path)
    if choice == "loopback":
        if not extra.loopback:
            ctx.add(extra.path, f"node {node} has no loopback address", choice,
                    "give the node a `loopback` prefix in a `nodes` entry")
            return primary
        return _all_families(ctx, node, families.in_families(extra.loopback, wanted), wanted,
                             "loopback", extra.path) or primary
    for attachment in attachments:
        if attachment.network == choice:
            return _all_families(ctx, node, families.in_families(attachment.addresses, wanted), wanted,
                                 f"network {choice}", extra.path) or primary
    ctx.add(extra.path, f"node {node} is not on network {choice!r}", choice,
            "`primary`, `loopback`, or one of the node's networks")
    return primary


def _all_families(ctx: Context, node: str, found: tuple[IPAddr, ...], wanted: tuple[int, ...],
                  where: str, path: Path) -> tuple[IPAddr, ...]:
    """`found` when it has an address of each wanted family; otherwise a located problem."""
    missing = [v for v in wanted if v not in {a.version for a in found}]
    if missing:
        family = families.FAMILY_NAMES[missing[0]]
        ctx.add(path, f"node {node} has no {family} address on its {where}, and its cluster needs one",
                where, f"give the {where.split()[0]} an {family} " + ("prefix" if where == "loopback" else "subnet"))
        return ()
    return found


def _check_static_routes(ctx: Context, alloc: Allocator, node: str, attachments: list[Attachment],
                         extra: NodeExtras) -> None:
    subnets = [s for a in attachments for s in alloc.subnets(a.network)]
    for route, path in extra.routes:
        if route.via.version != route.to.version:
            ctx.add(path, f"next hop {route.via} is not of the family of {route.to}", str(route.via),
                    f"an {families.FAMILY_NAMES[route.to.version]} next hop")
        elif not any(route.via in subnet for subnet in subnets):
            ctx.add(path, f"next hop {route.via} is not on any network of {node}",
                    str(route.via), f"the node's subnets: {', '.join(map(str, subnets))}")


def _build_host(ctx: Context, alloc: Allocator, index: int, statics: tuple[IPAddr, ...] | None):
    spec = ctx.spec.hosts[index]
    attachments = [alloc.attach(network, f"eth{n}", ("hosts", index), statics or () if n == 0 else ())
                   for n, network in enumerate(spec.networks)]
    if any(a is None for a in attachments):
        return None
    return topo.Host(spec.name, topo.netns_name(ctx.spec.name, spec.name), tuple(attachments),
                     tuple(spec.routesTo), tuple(spec.serviceRoutesTo), bool(statics))


def _interconnects(ctx: Context) -> list[topo.Interconnect]:
    every = [c.name for c in ctx.spec.clusters]
    return [topo.Interconnect(tuple(every if item.clusters == ["*"] else item.clusters),
                              item.pods, item.services, item.masquerade)
            for item in ctx.spec.interconnect]
