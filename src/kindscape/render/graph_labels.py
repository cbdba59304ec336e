"""The HTML-like labels of `kindscape graph` (Graphviz's <table> labels): one function per
kind of box, each returning the label text. Everything shown is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from ..topology import Cluster, DockerHost, Host, IPAddr, Network, Node, Pod, Service

FONT = "Helvetica"
MUTED = "#555555"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _join(values: Iterable[object], sep: str = ", ") -> str:
    return sep.join(str(v) for v in values)


def _row(key: str, value: str) -> str:
    return (f'<tr><td align="left"><font color="{MUTED}">{_e(key)}</font></td>'
            f'<td align="left">{_e(value)}</td></tr>')


def _table(header: str, rows: Sequence[str], fill: str, header_fill: str) -> str:
    head = f'<tr><td colspan="2" bgcolor="{header_fill}">{header}</td></tr>'
    return (f'<<table border="1" cellborder="0" cellspacing="0" cellpadding="3" '
            f'bgcolor="{fill}" color="#666666">{head}{"".join(rows)}</table>>')


def pods_summary(pods: Sequence[Pod]) -> str:
    """A node's pods in one line: their addresses, or a count and the first and last."""
    if not pods:
        return "none"
    firsts = [str(p.addresses[0]) for p in pods if p.addresses]
    if len(pods) <= 2:
        return _join(firsts)
    return f"{len(pods)}: {firsts[0]} … {firsts[-1]}"


def node_label(node: Node, header_fill: str) -> str:
    """A KIND node: name and role, InternalIP, podCIDR, its interfaces, loopbacks, routes, pods."""
    header = f'<b>{_e(node.name)}</b> <font color="{MUTED}">{_e(node.role)}</font>'
    source = "" if node.node_address == "primary" else f" ({node.node_address})"
    rows = [_row(f"InternalIP{source}", _join(node.internal_ips)), _row("podCIDR", _join(node.pod_cidrs))]
    for attachment in node.attachments:
        rows.append(_row(f"{attachment.network} ({attachment.ifname})", _join(attachment.addresses)))
    if node.loopbacks:
        rows.append(_row("lo", _join(f"{a}/{a.max_prefixlen}" for a in node.loopbacks)))
    for route in node.static_routes:
        rows.append(_row("route", f"{route.to} via {route.via}"))
    rows.append(_row("pods", pods_summary(node.pods)))
    return _table(header, rows, "white", header_fill)


def host_label(host: Host) -> str:
    """An external host ("VM"): its interfaces and the routes it was given."""
    rows = [_row(f"{a.network} ({a.ifname})", _join(a.addresses)) for a in host.attachments]
    rows += _routes_rows(host.routes_to, host.service_routes_to)
    header = f'<b>{_e(host.name)}</b> <font color="{MUTED}">host</font>'
    return _table(header, rows, "white", "#fff2cc")


def docker_host_label(docker_host: DockerHost, networks: Sequence[Network]) -> str:
    """The machine Docker runs on: every network's gateway, and its routes."""
    rows = [_row(f"{n.name} gateway", _join(n.gateways)) for n in networks[1:]]
    rows += _routes_rows(docker_host.routes_to, docker_host.service_routes_to)
    header = f'<b>docker-host</b> <font color="{MUTED}">bridges, gateways</font>'
    return _table(header, rows, "white", "#e0e0e0")


def _routes_rows(pods_of: Sequence[str], services_of: Sequence[str]) -> list[str]:
    rows = [_row("routes to pods", _join(pods_of))] if pods_of else []
    if services_of:
        rows.append(_row("routes to services", _join(services_of)))
    return rows


def network_label(network: Network) -> str:
    """A network drawn as a bus: name, subnet, gateway and whether it is masqueraded."""
    nat = "masquerade" if network.masquerade else "no masquerade"
    return (f'<<b>{_e(network.name)}</b>  {_e(_join(network.subnets))}'
            f'<font point-size="9">   gateway {_e(_join(network.gateways))} · {nat}'
            f' · bridge {_e(network.bridge)}</font>>')


def cluster_label(cluster: Cluster) -> str:
    """The title of a cluster's box: name, podSubnet, serviceSubnet (and non-default modes)."""
    extra = f" · ipFamily {cluster.ip_family}" if cluster.ip_family != "ipv4" else ""
    if cluster.kube_proxy_mode != "iptables":
        extra += f" · kube-proxy {cluster.kube_proxy_mode}"
    return (f'<<b>{_e(cluster.name)}</b><br align="left"/><font point-size="10" color="{MUTED}">'
            f'pods {_e(_join(cluster.pod_subnets))} · services {_e(_join(cluster.service_subnets))}'
            f'{_e(extra)}</font><br align="left"/>>')


def service_text(service: Service) -> str:
    """One Service in one line, as `kubectl get svc` would show it."""
    name = service.name if service.namespace == "default" else f"{service.namespace}/{service.name}"
    where = _join(service.cluster_ips) or ("None" if service.type == "Headless" else "")
    if service.type == "ExternalName":
        where = f"→ {service.external_name}"
    ports = f"{service.port}" + (f":{service.node_port}" if service.node_port else "")
    if service.target_port != service.port:
        ports += f"→{service.target_port}"
    text = f"{name}  {service.type}  {where}  {ports}/TCP"
    if service.load_balancer_ips:
        text += f"  LB {_join(service.load_balancer_ips)}"
    return text + f"  ({len(service.backends)} backends)"


def services_label(services: Sequence[Service]) -> str:
    rows = [f'<tr><td align="left">{_e(service_text(s))}</td></tr>' for s in services]
    return (f'<<table border="1" cellborder="0" cellspacing="0" cellpadding="3" bgcolor="white" '
            f'color="#666666"><tr><td bgcolor="#e8e0f8"><b>Services</b></td></tr>'
            f'{"".join(rows)}</table>>')


def addresses(values: Sequence[IPAddr]) -> str:
    return _join(values)
