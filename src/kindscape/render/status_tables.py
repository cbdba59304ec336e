"""The human-readable view of a status document (render/status.py makes it):
apart from check's tables, so that `status` imports nothing of the prober."""

from __future__ import annotations

from typing import Any


from .link_tables import links_table
from .policy_tables import tables as policy_tables
from .view import Group, Table, Text


def status_view(doc: dict[str, Any]) -> Group:
    head = Text(f"{doc['name']} ({doc['runtime']}, {doc['phase']})", style="bold")
    if doc.get("problems"):
        head.append("  problems: " + "; ".join(doc["problems"]), style="red")
    table = Table()
    for column in ("cluster", "node", "role", "address", "podCIDR", "pods", "other addresses"):
        table.add_column(column)
    for cluster in doc["clusters"]:
        for node in cluster["nodes"]:
            # Every family (dual-stack shows both, primary first).
            pods = ", ".join(" ".join(p["addresses"]) or "-" for p in node["pods"])
            others = ", ".join(f"{k}={' '.join(v)}" for k, v in node["networkAddresses"].items()
                               if k != "kind")
            table.add_row(cluster["name"], node["name"], node["role"], " ".join(node["internalIPs"]) or "-",
                          " ".join(node["podCIDRs"]) or "-", pods, others)
    parts: list[Any] = [head, table]
    if doc["hosts"]:
        hosts = Table()
        hosts.add_column("host")
        hosts.add_column("addresses")
        hosts.add_column("routes to")
        for host in doc["hosts"]:
            hosts.add_row(host["name"], ", ".join(f"{k}={' '.join(v)}" for k, v in host["networkAddresses"].items()),
                          ", ".join(host["routesTo"] + [f"svc:{c}" for c in host["serviceRoutesTo"]]))
        parts.append(hosts)
    services = [(c["name"], s) for c in doc["clusters"] for s in c["services"]]
    if services:
        table = Table()
        for column in ("cluster", "service", "type", "clusterIP", "port", "nodePort", "external", "backends"):
            table.add_column(column)
        for cluster, s in services:
            table.add_row(cluster, f"{s['namespace']}/{s['name']}", s["type"], s["clusterIP"] or "-",
                          str(s["port"]), str(s["nodePort"] or "-"),
                          s.get("loadBalancerIP") or s.get("externalName") or "-", str(len(s["backends"])))
        parts.append(table)
    parts += policy_tables(doc)
    links = links_table(doc)
    if links is not None:
        parts.append(links)
    return Group(*parts)
