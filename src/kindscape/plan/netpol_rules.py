"""NetworkPolicy on every node: one nftables table, `inet kube-network-policies`, doing in
the kernel what kube-network-policies decides in userspace (KIND's policy agent sends each
new connection of a pod with policies to NFQUEUE from the same place).

- One base chain on the postrouting hook at priority srcnat - 5, as kube-network-policies
  hooks it: after kube-proxy's DNAT (a Service's traffic is judged for the backend pod),
  before masquerade (the source is still the pod's). Forwarded traffic of the node's pods
  passes it; the node's own root-owned traffic is let through, as kube-network-policies does.
- Stateful: `ct state established,related accept` first, so replies need no rule.
- Egress is judged at the source pod's node (its address in `egress_pods`), ingress at the
  destination pod's node (`ingress_pods`); each node's sets hold only its own pods.
- In each direction, one rule per policy, rule, peer and port, in the order `netpol.decide`
  walks them, each commented "<namespace>/<name> <direction> rule <i>": the first match
  lets the connection on (egress: `return`, to be judged for ingress; ingress: `accept`);
  a pod that policies isolate and no rule lets through is dropped.
- Pod selectors become sets of pod addresses (the policy's cluster only); ipBlock a CIDR
  match with its excepts; a named port a set of (pod address, protocol, port) of the
  destination pods that name it so.

The rules of a cluster are computed once (`ClusterRules`); each node gets the sets of its
own pods and the rules of the policies that select any of them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .. import netpol
from ..netpol import EGRESS, INGRESS, NetworkPolicy, Peer, PolicyPort
from ..topology import Cluster, IPAddr, Node, Pod
from . import linux_ops

TABLE = "kube-network-policies"
PRIORITY = "srcnat - 5"
FAMILIES = {4: ("ip", "ipv4_addr"), 6: ("ip6", "ipv6_addr")}
NO_RULE = {INGRESS: "ingress: no rule allows it", EGRESS: "egress: no rule allows it"}
ESTABLISHED = "replies and related packets of allowed connections"
NODE_OWN = "the node's own traffic (kubelet, root)"


@dataclass
class ClusterRules:
    """What every node of a cluster shares: peer and named-port sets, and the rule lines
    of each policy (with `@sel` standing for the policy's set of local pods)."""

    cluster: Cluster
    views: dict[str, netpol.PodView] = field(default_factory=dict)  # pod name -> what selectors see
    sets: dict[str, tuple[int, str, tuple[str, ...]]] = field(default_factory=dict)  # name -> (family, type, elements)
    lines: dict[tuple[int, str], list[str]] = field(default_factory=dict)  # (policy index, direction) -> rules
    _by_elements: dict[tuple, str] = field(default_factory=dict)

    def named_set(self, prefix: str, version: int, kind: str, elements: tuple[str, ...]) -> str:
        key = (prefix, version, kind, elements)
        if key not in self._by_elements:
            name = f"{prefix}{len(self._by_elements)}_{version}"
            self._by_elements[key] = name
            self.sets[name] = (version, kind, elements)
        return self._by_elements[key]


def families(cluster: Cluster) -> list[int]:
    return sorted({s.version for s in cluster.pod_subnets})


def cluster_rules(cluster: Cluster) -> ClusterRules:
    found = ClusterRules(cluster, {p.name: p.view for p in cluster.all_pods})
    pods = list(cluster.all_pods)
    labels = cluster.namespace_labels
    for index, policy in enumerate(cluster.policies):
        for direction in (INGRESS, EGRESS):
            if direction in policy.types:
                found.lines[(index, direction)] = _policy_lines(found, policy, direction, pods, labels)
    return found


def _policy_lines(found: ClusterRules, policy: NetworkPolicy, direction: str, pods: list[Pod], labels) -> list[str]:
    subject, peer_side = ("daddr", "saddr") if direction == INGRESS else ("saddr", "daddr")
    verdict = "accept" if direction == INGRESS else "return"
    lines = []
    for r, rule in enumerate(policy.rules(direction)):
        comment = netpol.rule_comment(policy.key, direction, r)
        for version in families(found.cluster):
            keyword = FAMILIES[version][0]
            peers = [_peer_match(found, policy, p, version, peer_side, pods, labels) for p in rule.peers] \
                or [""]
            ports = [_port_match(found, p, version, pods) for p in rule.ports] or [""]
            for peer in peers:
                for port in ports:
                    if peer is None or port is None:
                        continue  # selects nothing of this family
                    match = " ".join(x for x in (f"{keyword} {subject} @SEL_{version}", peer, port) if x)
                    lines.append(f'    {match} {verdict} comment "{comment}"')
    return lines


def _addresses(pods: list[Pod], version: int) -> tuple[str, ...]:
    return tuple(str(a) for a in sorted({a for p in pods for a in p.addresses if a.version == version}))


def _peer_match(found: ClusterRules, policy: NetworkPolicy, peer: Peer, version: int, side: str,
                pods: list[Pod], labels) -> str | None:
    keyword = FAMILIES[version][0]
    if peer.ip_block is not None:
        block = peer.ip_block
        if block.cidr.version != version:
            return None
        text = f"{keyword} {side} {block.cidr}"
        if block.excepts:
            text += f" {keyword} {side} != {{ {', '.join(str(e) for e in block.excepts)} }}"
        return text
    chosen = [p for p in pods if netpol.peer_selects(peer, policy.namespace, found.views[p.name], None, labels)]
    elements = _addresses(chosen, version)
    if not elements:
        return None
    return f"{keyword} {side} @{found.named_set('peer', version, FAMILIES[version][1], elements)}"


def _port_match(found: ClusterRules, port: PolicyPort, version: int, pods: list[Pod]) -> str | None:
    proto = port.protocol.lower()
    if port.port is None:
        return f"meta l4proto {proto}"
    if isinstance(port.port, int):
        ports = f"{port.port}-{port.end_port}" if port.end_port not in (None, port.port) else str(port.port)
        return f"meta l4proto {proto} th dport {ports}"
    elements = tuple(f"{address} . {proto} . {served.port}" for pod in pods for served in pod.ports
                     if served.name == port.port and served.protocol == port.protocol
                     for address in pod.addresses if address.version == version)
    if not elements:
        return None
    kind = f"{FAMILIES[version][1]} . inet_proto . inet_service"
    return f"{FAMILIES[version][0]} daddr . meta l4proto . th dport @{found.named_set('port', version, kind, elements)}"


def _local_pods(cluster: Cluster, node: Node) -> list[Pod]:
    return [p for p in cluster.all_pods if p.node == node.name]


def node_ruleset(shared: ClusterRules, node: Node) -> linux_ops.Ruleset | None:
    """The table of one node, or None when no policy selects any of its pods."""
    cluster = shared.cluster
    local = _local_pods(cluster, node)
    chains = {INGRESS: [], EGRESS: []}
    own: dict[str, tuple[int, str, tuple[str, ...]]] = {}
    isolated: dict[tuple[str, int], set[str]] = {}
    for index, policy in enumerate(cluster.policies):
        for direction in policy.types:
            chosen = [p for p in local if netpol.selects(policy, shared.views[p.name], direction)]
            for version in families(cluster) if chosen else ():
                elements = _addresses(chosen, version)
                isolated.setdefault((direction, version), set()).update(elements)
                lines = [line for line in shared.lines[(index, direction)] if f"@SEL_{version}" in line]
                if lines:  # a policy without rules (deny) isolates its pods and needs no set
                    name = f"sel{index}_{direction[0].lower()}{version}"
                    own[name] = (version, FAMILIES[version][1], elements)
                    chains[direction] += [line.replace(f"@SEL_{version}", f"@{name}") for line in lines]
    if not isolated:
        return None
    for (direction, version), elements in isolated.items():
        own[f"{direction.lower()}_pods{version}"] = (version, FAMILIES[version][1], _sorted(elements))
    used = {name for lines in chains.values() for line in lines for name in shared.sets if f"@{name} " in line + " "}
    text = _table_text(cluster, own, {n: shared.sets[n] for n in sorted(used)}, chains, isolated)
    return linux_ops.Ruleset(node.netns, TABLE, text, f"kube-network-policies on {node.name}")


def _sorted(elements: set[str]) -> tuple[str, ...]:
    return tuple(str(a) for a in sorted(ipaddress.ip_address(e) for e in elements))


def _set_lines(name: str, version: int, kind: str, elements: tuple[str, ...]) -> list[str]:
    body = f"; elements = {{ {', '.join(elements)} }}" if elements else ""
    return [f"  set {name} {{ type {kind}{body}; }}"]


def _table_text(cluster: Cluster, own: dict, shared: dict, chains: dict[str, list[str]],
                isolated: dict[tuple[str, int], set[str]]) -> str:
    lines = [f"table inet {TABLE} {{"]
    for name, (version, kind, elements) in list(own.items()) + list(shared.items()):
        lines += _set_lines(name, version, kind, elements)
    lines += ["  chain postrouting {",
              f"    type filter hook postrouting priority {PRIORITY}; policy accept;",
              "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
              f'    meta skuid 0 accept comment "{NODE_OWN}"',
              f'    ct state established,related accept comment "{ESTABLISHED}"']
    for direction, verb in ((EGRESS, "saddr"), (INGRESS, "daddr")):
        for version in families(cluster):
            if (direction, version) in isolated:
                keyword = FAMILIES[version][0]
                lines.append(f"    {keyword} {verb} @{direction.lower()}_pods{version} jump {direction.lower()}")
    lines.append("  }")
    for direction in (EGRESS, INGRESS):
        if any(d == direction for d, _ in isolated):
            lines += [f"  chain {direction.lower()} {{"] + chains[direction] + \
                [f'    drop comment "{NO_RULE[direction]}"', "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def rulesets(cluster: Cluster) -> list[linux_ops.Ruleset]:
    """The policy table of every node of the cluster whose pods any policy selects."""
    if not cluster.policies:
        return []
    shared = cluster_rules(cluster)
    found = (node_ruleset(shared, node) for node in cluster.nodes)
    return [ruleset for ruleset in found if ruleset is not None]


def pod_address_of(cluster: Cluster, address: IPAddr) -> Pod | None:
    """The pod of this cluster that owns an address (how a selector sees a packet's peer)."""
    return next((p for p in cluster.all_pods if address in p.addresses), None)
