"""Namespaces, workloads and NetworkPolicies in `status` (JSON and tables)."""

from __future__ import annotations

from typing import Any

from ..topology import Cluster


def cluster_json(cluster: Cluster) -> dict[str, Any]:
    """`namespaces`, `workloads` and `networkPolicies` of a cluster's status."""
    workloads: dict[tuple[str, str], dict[str, Any]] = {}
    for pod in cluster.pods:
        if not pod.workload:
            continue
        entry = workloads.setdefault((pod.namespace, pod.workload), {
            "name": pod.workload, "namespace": pod.namespace, "labels": dict(pod.labels),
            "ports": [{"port": p.port, "protocol": p.protocol, "name": p.name or None} for p in pod.ports],
            "pods": []})
        entry["pods"].append({"name": pod.kube_name, "endpoint": pod.name, "node": pod.node,
                              "addresses": [str(a) for a in pod.addresses]})
    selected = _selected_pods(cluster)
    return {
        "namespaces": [{"name": n.name, "labels": dict(n.labels)} for n in cluster.namespaces],
        "workloads": list(workloads.values()),
        "networkPolicies": [{"name": p.name, "namespace": p.namespace, "policyTypes": list(p.types),
                             "ingressRules": len(p.ingress), "egressRules": len(p.egress),
                             "selects": selected[at]}
                            for at, p in enumerate(cluster.policies)],
    }


def _selected_pods(cluster: Cluster) -> list[list[str]]:
    """The pods (endpoint names) each of the cluster's policies selects, in its order.
    NetworkPolicy's model is loaded only for a cluster that has policies (see
    topology._NETPOL_NAMES): `status` of one without starts without it."""
    if not cluster.policies:
        return []
    from .. import netpol
    views = [(pod.name, pod.view) for pod in cluster.all_pods]
    return [[name for name, view in views if any(netpol.selects(policy, view, t) for t in policy.types)]
            for policy in cluster.policies]


def tables(doc: dict[str, Any]) -> list:
    """The status tables of namespaces and workloads, and of policies (none when unused)."""
    from .view import Table
    found = []
    spaces = [(c["name"], n) for c in doc["clusters"] for n in c.get("namespaces", [])
              if c.get("workloads") or c.get("networkPolicies")]
    if spaces:
        table = Table()
        for column in ("cluster", "namespace", "labels"):
            table.add_column(column)
        for cluster, n in spaces:
            table.add_row(cluster, n["name"], _labels(n["labels"]))
        found.append(table)
    workloads = [(c["name"], w) for c in doc["clusters"] for w in c.get("workloads", [])]
    if workloads:
        table = Table()
        for column in ("cluster", "namespace", "workload", "labels", "ports", "pods"):
            table.add_column(column)
        for cluster, w in workloads:
            table.add_row(cluster, w["namespace"], w["name"], _labels(w["labels"]),
                          ", ".join(f"{p['port']}/{p['protocol']}" + (f" ({p['name']})" if p["name"] else "")
                                    for p in w["ports"]),
                          ", ".join(f"{p['name']}@{p['node']} {' '.join(p['addresses'])}" for p in w["pods"]))
        found.append(table)
    policies = [(c["name"], p) for c in doc["clusters"] for p in c.get("networkPolicies", [])]
    if policies:
        table = Table()
        for column in ("cluster", "policy", "types", "rules (in/out)", "selects"):
            table.add_column(column)
        for cluster, p in policies:
            table.add_row(cluster, f"{p['namespace']}/{p['name']}", ", ".join(p["policyTypes"]),
                          f"{p['ingressRules']}/{p['egressRules']}", f"{len(p['selects'])} pods")
        found.append(table)
    return found


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items()) or "-"


def namespaces_label(cluster: Cluster) -> str | None:
    """The graph's box of a cluster's namespaces: each with its workloads, and the
    NetworkPolicies on it (those selecting pods there), with their types. None when the
    cluster has no workloads and no policies."""
    from html import escape
    if not cluster.policies and not any(p.workload for p in cluster.pods):
        return None
    selected = _selected_pods(cluster)
    rows = []
    for namespace in cluster.namespaces:
        counts: dict[str, int] = {}
        for pod in cluster.pods:
            if pod.workload and pod.namespace == namespace.name:
                counts[pod.workload] = counts.get(pod.workload, 0) + 1
        on = [f"{p.name} [{'+'.join(t[0] for t in p.types)}]" for at, p in enumerate(cluster.policies)
              if p.namespace == namespace.name and selected[at]]
        if not counts and not on:
            continue
        labels = ", ".join(f"{k}={v}" for k, v in namespace.labels if k != "kubernetes.io/metadata.name")
        text = namespace.name + (f" ({labels})" if labels else "") + ": " + \
            (", ".join(f"{name}×{n}" for name, n in counts.items()) or "no workloads")
        policy = f'<font color="#a01010">policies: {escape(", ".join(on))}</font><br align="left"/>' if on else ""
        rows.append(f'<tr><td align="left">{escape(text)}<br align="left"/>{policy}</td></tr>')
    return ('<<table border="1" cellborder="0" cellspacing="0" cellpadding="3" bgcolor="white" '
            'color="#666666"><tr><td bgcolor="#f8e0e0"><b>Namespaces and NetworkPolicies</b></td></tr>'
            f'{"".join(rows)}</table>>')
