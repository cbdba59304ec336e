"""Semantic validation of a structurally valid scenario: names, addresses, references, overlaps.

Every check appends located problems and carries on, so the user gets all of them at once.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass, field

from .. import endpoints
from ..errors import Problem
from . import families, guards, naming
from .files import FileAccess
from .kindconfig import CLUSTER_NAME_RE, ClusterNetwork, check_cluster_name
from .schema import ScenarioSpec
from .yamlsource import Locator, Path

KIND_NETWORK = naming.KIND_NETWORK
KIND_DEFAULT_SUBNET = "172.18.0.0/16"
CIDR_SET_MAX_DIFF = 16  # kube-controller-manager's cidrset: node mask - cluster mask <= 16
MAX_PODS_PER_NODE = 250  # a /24 podCIDR: .1 is the node's gateway side, .255 broadcast


@dataclass
class Context:
    """What validation knows about the scenario; shared with allocation (`resolve.py`)."""

    spec: ScenarioSpec
    locator: Locator
    networks: dict[int, ClusterNetwork | None]  # cluster index -> KIND networking (None: invalid)
    cluster_paths: dict[int, Path]  # where each cluster's KIND config lives in the document
    problems: list[Problem] = field(default_factory=list)
    node_names: dict[str, list[str]] = field(default_factory=dict)  # cluster -> node names
    warnings: list[Problem] = field(default_factory=list)  # allowed, but probably not meant
    policies: list = field(default_factory=list)  # the valid NetworkPolicies (netpol), file order
    files: FileAccess | None = None  # where referenced files may be read from (files.py)

    def add(self, path: Path, message: str, value=None, hint: str | None = None) -> None:
        self.problems.append(self.locator.problem(path, message, value, hint))

    def may_name_unknown_node(self, name: str, glob: bool = False) -> bool:
        """Whether `name` (a selector, or a node glob) may name a node of a cluster whose
        KIND config is invalid: its nodes are unknown, so whether it names one is undecidable."""
        for index, info in self.networks.items():
            cluster = self.spec.clusters[index].name
            if info is None and (name.startswith((f"{cluster}-", f"{cluster}/")) or glob and any(
                    fnmatch.fnmatchcase(f"{cluster}-{role}", name) for role in ("control-plane", "worker"))):
                return True
        return False

    @property
    def all_nodes(self) -> list[str]:
        return [n for names in self.node_names.values() for n in names]


def parse_net(ctx: Context, text: str, path: Path, what: str):
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        hint = "a CIDR such as 172.16.17.0/24"
        try:
            hint = f"did you mean {ipaddress.ip_network(text, strict=False)}?"
        except ValueError:
            pass
        ctx.add(path, f"invalid {what}: {exc}", text, hint)
        return None


def parse_addr(ctx: Context, text: str, path: Path, what: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        ctx.add(path, f"invalid {what}", text, "an IP address such as 172.18.0.200")
        return None


def check_names(ctx: Context) -> None:
    spec = ctx.spec
    if not naming.SCENARIO_NAME_RE.match(spec.name) or len(spec.name) > naming.SCENARIO_NAME_MAX:
        ctx.add(("name",), "invalid scenario name", spec.name,
                f"lower-case letters, digits and '-', at most {naming.SCENARIO_NAME_MAX} characters")
    seen: dict[str, Path] = {}
    for index, cluster in enumerate(spec.clusters):
        path = ("clusters", index, "name")
        check_cluster_name(cluster.name, path, ctx.locator, ctx.problems)
        unsafe = guards.cluster_name_problem(cluster.name)
        if unsafe and CLUSTER_NAME_RE.match(cluster.name):  # else check_cluster_name said it
            ctx.add(path, unsafe, cluster.name, "its nodes' names are hostnames and Docker container names")
        if len(cluster.name) > naming.CLUSTER_NAME_MAX:
            ctx.add(path, "cluster name too long", cluster.name,
                    f"at most {naming.CLUSTER_NAME_MAX} characters (node names are hostnames)")
        _unique(ctx, seen, cluster.name, path, "cluster")
        if (cluster.config is None) == (cluster.configFile is None):
            ctx.add(("clusters", index), "give exactly one of `config` or `configFile`")
        if not 0 <= cluster.podsPerNode <= MAX_PODS_PER_NODE:
            ctx.add(("clusters", index, "podsPerNode"), "podsPerNode out of range",
                    cluster.podsPerNode, f"0 to {MAX_PODS_PER_NODE}")
        roles = ctx.networks.get(index)
        if roles is not None:
            ctx.node_names[cluster.name] = naming.kind_node_names(cluster.name, roles.roles)
    _check_host_names(ctx)


def _unique(ctx: Context, seen: dict[str, Path], name: str, path: Path, what: str) -> None:
    if name in seen:
        first = ctx.locator.line(seen[name])
        ctx.add(path, f"duplicate {what} name", name, f"already used at line {first}" if first else None)
    else:
        seen[name] = path


def _check_host_names(ctx: Context) -> None:
    seen: dict[str, Path] = {}
    nodes = set(ctx.all_nodes)
    for index, host in enumerate(ctx.spec.hosts):
        path = ("hosts", index, "name")
        if not naming.HOST_NAME_RE.match(host.name) or len(host.name) > naming.HOST_NAME_MAX:
            ctx.add(path, "invalid host name", host.name,
                    "a hostname: lower-case letters, digits, '-' and '.'")
        elif host.name in naming.RESERVED_ENDPOINTS:
            ctx.add(path, "reserved name", host.name, "docker-host is the Docker host itself")
        elif host.name in nodes:
            ctx.add(path, "host name clashes with a KIND node name", host.name)
        _unique(ctx, seen, host.name, path, "host")


def check_networks(ctx: Context) -> dict[str, tuple]:
    """Check the networks; returns name -> (subnets, gateways) for the ones that parse,
    one of each per family, as written (`kind` gets KIND's IPv6 ULA when a cluster needs it)."""
    parsed: dict[str, tuple] = {}
    seen: dict[str, Path] = {}
    declared = {n.name for n in ctx.spec.networks}
    entries = list(enumerate(ctx.spec.networks))
    for index, net in entries:
        path = ("networks", index)
        _check_network_name(ctx, net.name, path + ("name",))
        _unique(ctx, seen, net.name, path + ("name",), "network")
        result = _check_network_addresses(ctx, net, path)
        if result is not None and net.name not in parsed:
            parsed[net.name] = result
    if KIND_NETWORK not in declared:
        default = ipaddress.ip_network(KIND_DEFAULT_SUBNET)
        parsed[KIND_NETWORK] = ((default,), (default[1],))
    families.add_kind_ula(ctx, parsed)
    return parsed


def _check_network_name(ctx: Context, name: str, path: Path) -> None:
    if not naming.NETWORK_NAME_RE.match(name) or len(name) > naming.NETWORK_NAME_MAX:
        ctx.add(path, "invalid network name", name, "letters, digits, '_', '.', '-' (Docker's rule)")
    elif name in naming.RESERVED_NETWORK_NAMES:
        ctx.add(path, "reserved network name", name,
                "'host', 'none' and 'bridge' are Docker's; 'primary' and 'loopback' are nodeAddress values")
    elif naming.DOCKER_HOST_IFNAME_RE.match(name):
        ctx.add(path, "network name clashes with an interface name", name,
                "docker-host's interfaces are lo, veth<N> and br-<network>: choose another name")


def _check_network_addresses(ctx: Context, net, path: Path):
    if net.subnet is None:
        if net.name != KIND_NETWORK:
            ctx.add(path + ("subnet",), "required field is missing", None,
                    "every network other than `kind` needs a subnet")
            return None
        subnets = (ipaddress.ip_network(KIND_DEFAULT_SUBNET),)
    else:
        subnets = families.split_per_family(ctx, net.subnet, path + ("subnet",), "subnet", parse_net)
        if subnets is None:
            return None
    for subnet in subnets:
        if subnet.num_addresses < 4:
            ctx.add(path + ("subnet",), "subnet too small", str(subnet), "at least a /30 (/126 for IPv6)")
            return None
    gateways = [subnet[1] for subnet in subnets]
    if net.gateway is not None:
        given = families.split_per_family(ctx, net.gateway, path + ("gateway",), "gateway", parse_addr)
        if given is None:
            return None
        for gateway in given:
            position = next((i for i, s in enumerate(subnets) if s.version == gateway.version), None)
            subnet = subnets[position] if position is not None else None
            if subnet is None or gateway not in subnet \
                    or gateway in (subnet.network_address, subnet.broadcast_address):
                ctx.add(path + ("gateway",), "gateway outside its subnet", net.gateway,
                        f"a host address of {', '.join(map(str, subnets))}")
                return None
            gateways[position] = gateway
    return subnets, tuple(gateways)


def check_overlaps(ctx: Context, networks: dict[str, tuple]) -> None:
    """No two of the pod, service, network and loopback subnets may overlap."""
    ranges: list[tuple[str, Path, object]] = []
    for index, cluster in enumerate(ctx.spec.clusters):
        info = ctx.networks.get(index)
        if info is None:
            continue
        base = ctx.cluster_paths[index] + ("networking",)
        ranges += [(f"cluster {cluster.name}'s podSubnet", base + ("podSubnet",), n)
                   for n in info.pod_subnets]
        ranges += [(f"cluster {cluster.name}'s serviceSubnet", base + ("serviceSubnet",), n)
                   for n in info.service_subnets]
    first = {}
    for index, net in enumerate(ctx.spec.networks):
        first.setdefault(net.name, index)
    for name, index in first.items():
        if name in networks:
            ranges += [(f"network {name}", ("networks", index, "subnet"), net) for net in networks[name][0]]
    if KIND_NETWORK not in {n.name for n in ctx.spec.networks}:
        ranges += [("network kind", ("networks",), net) for net in networks[KIND_NETWORK][0]]
    for index, extra in enumerate(ctx.spec.nodes):
        if extra.loopback:
            path = ("nodes", index, "loopback")
            found = families.split_per_family(ctx, extra.loopback, path, "loopback prefix", parse_net)
            ranges += [(f"loopback {extra.select}", path, net) for net in found or ()]
    _report_overlaps(ctx, ranges)


def _report_overlaps(ctx: Context, ranges: list[tuple[str, Path, object]]) -> None:
    for later in range(len(ranges)):
        label, path, net = ranges[later]
        for earlier in range(later):
            other_label, _, other = ranges[earlier]
            if net.version == other.version and net.overlaps(other):
                ctx.add(path, f"{label} {net} overlaps {other_label} {other}", None,
                        "every pod, service, network and loopback subnet must be distinct"
                        + ("; clusters left on KIND's defaults collide: set networking.podSubnet "
                           "and serviceSubnet" if net == other and "cluster" in label else ""))
                break


def check_pod_capacity(ctx: Context) -> None:
    for index, cluster in enumerate(ctx.spec.clusters):
        info = ctx.networks.get(index)
        if info is None:
            continue
        nodes = len(info.roles)
        for subnet in info.pod_subnets:
            per_node = 24 if subnet.version == 4 else 64
            if per_node - subnet.prefixlen > CIDR_SET_MAX_DIFF:
                ctx.add(ctx.cluster_paths[index] + ("networking", "podSubnet"),
                        f"podSubnet {subnet} is too large: the node CIDR size is too big", str(subnet),
                        f"kube-controller-manager allows at most {CIDR_SET_MAX_DIFF} bits between the "
                        f"podSubnet and the /{per_node} of each node: use a /{per_node - CIDR_SET_MAX_DIFF} "
                        "or smaller")
                continue
            capacity = 2 ** (per_node - subnet.prefixlen) if subnet.prefixlen <= per_node else 0
            if capacity < nodes:
                ctx.add(ctx.cluster_paths[index] + ("networking", "podSubnet"),
                        f"podSubnet {subnet} too small for {nodes} nodes", str(subnet),
                        f"each node takes a /{per_node}: use a /{per_node - (nodes - 1).bit_length()} or larger")


def check_cluster_refs(ctx: Context, names: list[str], path: Path, allow_all: bool = False) -> list[str]:
    """Resolve a list of cluster names (or ['*']); unknown ones are problems."""
    known = [c.name for c in ctx.spec.clusters]
    if allow_all and names == ["*"]:
        return known
    found = []
    for index, name in enumerate(names):
        if name in known:
            found.append(name)
        else:
            hint = f"known clusters: {', '.join(known)}" if known else "no clusters are declared"
            if name == "*":
                hint = "'*' must be alone in the list"
            ctx.add(path + (index,), "unknown cluster", name, hint)
    return found


def check_interconnects(ctx: Context) -> None:
    for index, item in enumerate(ctx.spec.interconnect):
        path = ("interconnect", index, "clusters")
        found = check_cluster_refs(ctx, item.clusters, path, allow_all=True)
        if len(set(found)) < 2 and len(found) == len(item.clusters):
            ctx.add(path, "an interconnect needs at least two clusters", item.clusters)


def check_node_selects(ctx: Context) -> dict[int, list[str]]:
    """Node extras: which nodes each `select` glob matches; a glob matching none is a problem."""
    matches: dict[int, list[str]] = {}
    nodes = ctx.all_nodes
    for index, extra in enumerate(ctx.spec.nodes):
        hit = [n for n in nodes if fnmatch.fnmatchcase(n, extra.select)]
        if not hit and nodes and not ctx.may_name_unknown_node(extra.select, glob=True):
            ctx.add(("nodes", index, "select"), "matches no node", extra.select,
                    f"KIND node names here: {', '.join(nodes[:6])}{' …' if len(nodes) > 6 else ''}")
        matches[index] = hit
    return matches


def check_host_refs(ctx: Context, networks: dict[str, tuple]) -> None:
    for index, host in enumerate(ctx.spec.hosts):
        path = ("hosts", index)
        if not host.networks:
            ctx.add(path + ("networks",), "a host needs at least one network", None, "e.g. [kind]")
        for n, name in enumerate(host.networks):
            if name not in networks:
                ctx.add(path + ("networks", n), "unknown network", name,
                        f"declared networks: {', '.join(networks)}")
        if len(set(host.networks)) != len(host.networks):
            ctx.add(path + ("networks",), "a network is listed twice", host.networks)
        check_cluster_refs(ctx, host.routesTo, path + ("routesTo",))
        check_cluster_refs(ctx, host.serviceRoutesTo, path + ("serviceRoutesTo",))
    docker = ctx.spec.dockerHost
    check_cluster_refs(ctx, docker.routesTo, ("dockerHost", "routesTo"))
    check_cluster_refs(ctx, docker.serviceRoutesTo, ("dockerHost", "serviceRoutesTo"))


def expectation_lists(spec: ScenarioSpec) -> list[tuple[Path, list]]:
    """`expect` and every set of `expectWhen`, each with its path in the file."""
    return [(("expect",), spec.expect)] + [(("expectWhen", name), items) for name, items in spec.expectWhen.items()]


def check_expect_refs(ctx: Context) -> None:
    """Every expectation's endpoints must name something (by name; addresses are not
    needed), in `expect` and in every set of `expectWhen`."""
    for name in ctx.spec.expectWhen:
        if not naming.SCENARIO_NAME_RE.match(name) or len(name) > 63:
            ctx.add(("expectWhen", name), "invalid expectation set name", name,
                    "lower-case letters, digits and '-', e.g. partitioned-east-west")
    for at, items in expectation_lists(ctx.spec):
        for index, item in enumerate(items):
            for key, selector in (("from", item.from_), ("to", item.to)):
                problem = endpoint_problem(ctx, selector, source=key == "from")
                if problem and not ctx.may_name_unknown_node(selector):
                    ctx.add(at + (index, key), problem[0], selector, problem[1])
            _check_seen_and_answered(ctx, at + (index,), item)


def _check_seen_and_answered(ctx: Context, at: Path, item) -> None:
    """seenSource: an address or an endpoint; answeredBy: pods, for a Service target."""
    if item.seenSource is not None:
        try:
            ipaddress.ip_address(item.seenSource)
        except ValueError:
            problem = endpoint_problem(ctx, item.seenSource, source=True)
            if problem:
                ctx.add(at + ("seenSource",), f"neither an address nor an endpoint: {problem[0]}",
                        item.seenSource, problem[1])
        if not item.reachable:
            ctx.add(at + ("seenSource",), "an unreachable target sees no source", item.seenSource,
                    "leave seenSource out, or expect reachable: true")
    if item.answeredBy is None:
        return
    if endpoints.service_selector(item.to) is None:
        ctx.add(at + ("answeredBy",), "answeredBy is for a Service target", item.to,
                "give `to` as <cluster>/svc/<name> (or nodeport/, lb/)")
    for index, backend in enumerate(item.answeredBy):
        problem = endpoint_problem(ctx, backend, source=True)
        if problem:
            ctx.add(at + ("answeredBy", index), problem[0], backend, problem[1])
        elif "/" not in backend or backend.endswith(("/pods", "/nodes")):
            ctx.add(at + ("answeredBy", index), "a backend is one pod", backend, "e.g. cluster-a-worker/pod1")


def endpoint_problem(ctx: Context, selector: str, source: bool) -> tuple[str, str | None] | None:
    """Why a selector names nothing (message, hint), or None when it names something.
    The grammar is `endpoints.parse`'s, checked against the file's names."""
    names = endpoints.Names(
        {c.name: c.podsPerNode for c in ctx.spec.clusters},
        {node: cluster for cluster, nodes in ctx.node_names.items() for node in nodes},
        frozenset(h.name for h in ctx.spec.hosts),
        {(s.cluster, s.namespace, s.name): s.type for s in ctx.spec.services},
        {(w.cluster, w.namespace, w.name): w.replicas for w in ctx.spec.workloads},
        frozenset((n.cluster, n.name) for n in ctx.spec.namespaces))
    try:
        chosen = endpoints.parse(selector, names)
    except endpoints.EndpointError as exc:
        return str(exc), exc.hint
    if source and chosen.kind == "service":
        return "a Service can only be a target", "probe from a pod, node or host"
    return None

