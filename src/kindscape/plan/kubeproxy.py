"""kube-proxy on every node of a cluster: one nftables table, `inet kube-proxy`, modelled on
kube-proxy's nftables mode (and equal in effect to its iptables mode, KIND's default).

- `services`: ClusterIP:port, LoadBalancer address:port, and the NodePort on every local
  address of the node (`fib daddr type local`, like iptables mode's `--dst-type LOCAL`),
  caught in prerouting (traffic through the node) and output (the node's own).
- One chain per Service port spreads new connections over its backends with
  `numgen random mod N` (kube-proxy's own choice); one chain per backend DNATs to the
  pod's address and targetPort.
- Masquerade, as kube-proxy marks it (0x4000) and POSTROUTING applies it: traffic to a
  ClusterIP whose source is outside the cluster's podSubnet (a host or the Docker host
  routing the serviceSubnet via a node: the seed page's claim works because of this rule,
  the reply comes back through the node), all NodePort and LoadBalancer traffic
  (externalTrafficPolicy: Cluster), and a pod reaching itself through its Service (hairpin).

The rules are the same on every node of a cluster; only the namespace differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..topology import Cluster, IPAddr, IPNet, Service
from . import linux_ops

TABLE = "kube-proxy"
MASQ_MARK = 0x4000  # kube-proxy's --masquerade-bit 14
DNS_PORT = 53


@dataclass(frozen=True)
class ProxiedPort:
    """One Service port as kube-proxy programs it."""

    key: str  # <namespace>/<name>/<protocol>/<port>: the chains' names
    protocol: str  # tcp | udp
    port: int
    target_port: int
    node_port: int | None
    cluster_ips: tuple[IPAddr, ...]
    lb_ips: tuple[IPAddr, ...]
    backends: tuple[tuple[str, tuple[IPAddr, ...]], ...]  # (pod name, its addresses)


def proxied_ports(cluster: Cluster) -> list[ProxiedPort]:
    """kube-dns (UDP and TCP 53 to CoreDNS), then every Service that has a ClusterIP."""
    found = []
    if cluster.dns_pod is not None:
        backend = ((cluster.dns_pod.name, cluster.dns_pod.addresses),)
        found += [ProxiedPort(f"kube-system/kube-dns/{proto}/{DNS_PORT}", proto, DNS_PORT, DNS_PORT,
                              None, cluster.dns_ips, (), backend) for proto in ("udp", "tcp")]
    pods = {pod.name: pod for pod in cluster.pods}
    for service in cluster.services:
        if service.cluster_ips:
            found.append(_proxied(service, tuple((name, pods[name].addresses) for name in service.backends)))
    return found


def _proxied(service: Service, backends) -> ProxiedPort:
    return ProxiedPort(f"{service.namespace}/{service.name}/tcp/{service.port}", "tcp", service.port,
                       service.target_port, service.node_port, service.cluster_ips,
                       service.load_balancer_ips, backends)


def rulesets(cluster: Cluster) -> list[linux_ops.Ruleset]:
    """The kube-proxy table of every node of the cluster (none with kubeProxyMode: none)."""
    if cluster.kube_proxy_mode == "none":
        return []
    text = ruleset_text(cluster)
    return [linux_ops.Ruleset(node.netns, TABLE, text, f"kube-proxy on {node.name}") for node in cluster.nodes]


def ruleset_text(cluster: Cluster) -> str:
    ports = proxied_ports(cluster)
    lines = [f"table inet {TABLE} {{",
             "  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
             "    jump services", "  }",
             "  chain output {", "    type nat hook output priority -100; policy accept;",
             "    jump services", "  }",
             "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;",
             f"    meta mark & {MASQ_MARK:#x} == 0 return",
             f"    meta mark set meta mark ^ {MASQ_MARK:#x}",
             '    masquerade fully-random comment "KUBE-POSTROUTING: masquerade marked traffic"', "  }",
             "  chain mark-for-masquerade {", f"    meta mark set meta mark | {MASQ_MARK:#x}", "  }"]
    lines += _services_chain(ports)
    for port in ports:
        lines += _port_chains(port, cluster.pod_subnets)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _family(address: IPAddr | IPNet) -> str:
    return "ip" if address.version == 4 else "ip6"


def _services_chain(ports: list[ProxiedPort]) -> list[str]:
    lines = ["  chain services {"]
    for port in ports:
        name = port.key.rsplit("/", 2)[0]
        for address in port.cluster_ips:
            lines.append(f"    {_family(address)} daddr {address} {port.protocol} dport {port.port} "
                         f'goto svc-{port.key} comment "{name} cluster IP"')
        for address in port.lb_ips:
            lines.append(f"    {_family(address)} daddr {address} {port.protocol} dport {port.port} "
                         f'goto ext-{port.key} comment "{name} loadbalancer IP"')
    # Last, as KUBE-NODEPORTS is: any local address of the node, at the NodePort.
    for port in ports:
        if port.node_port is not None:
            lines.append(f"    fib daddr type local {port.protocol} dport {port.node_port} "
                         f'goto ext-{port.key} comment "{port.key.rsplit("/", 2)[0]} nodePort"')
    lines.append("  }")
    return lines


def _port_chains(port: ProxiedPort, pod_subnets: tuple[IPNet, ...]) -> list[str]:
    lines = []
    if port.node_port is not None or port.lb_ips:
        lines += [f"  chain ext-{port.key} {{",
                  '    jump mark-for-masquerade comment "external traffic: masquerade"',
                  f"    goto svc-{port.key}", "  }"]
    lines.append(f"  chain svc-{port.key} {{")
    for family in sorted({_family(s) for s in pod_subnets}):
        subnets = ", ".join(str(s) for s in pod_subnets if _family(s) == family)
        lines.append(f"    {family} saddr != {{ {subnets} }} jump mark-for-masquerade "
                     'comment "from outside the podSubnet: masquerade"')
    chains = [f"sep-{port.key}/{pod}" for pod, _ in port.backends]
    if len(chains) == 1:
        lines.append(f"    goto {chains[0]}")
    elif chains:
        choices = ", ".join(f"{i} : goto {chain}" for i, chain in enumerate(chains))
        lines.append(f"    numgen random mod {len(chains)} vmap {{ {choices} }}")
    lines.append("  }")
    for chain, (_, addresses) in zip(chains, port.backends):
        lines.append(f"  chain {chain} {{")
        for address in addresses:
            lines.append(f"    {_family(address)} saddr {address} jump mark-for-masquerade "
                         'comment "hairpin: the pod reaches itself"')
        for address in addresses:
            target = f"{address}:{port.target_port}" if address.version == 4 else \
                f"[{address}]:{port.target_port}"
            nfproto = "ipv4" if address.version == 4 else "ipv6"
            lines.append(f"    meta nfproto {nfproto} meta l4proto {port.protocol} "
                         f"dnat {_family(address)} to {target}")
        lines.append("  }")
    return lines
