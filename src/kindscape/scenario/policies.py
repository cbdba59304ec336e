"""`networkPolicies`: each entry a verbatim v1 NetworkPolicy or a file of them (YAML
documents, as `kubectl apply -f` reads it), checked as the API server checks them
(`policyschema.py`), then against the scenario: its cluster and namespace must exist, and
one name is one policy. A selector that selects no pod is allowed (Kubernetes allows it)
but said as a warning: it is usually a typo."""

from __future__ import annotations

import re

from .. import netpol
from ..errors import Problem
from .files import FileRefused
from .policyschema import PolicyReader
from .validate import Context
from .workloads import declared_namespaces, namespace_labels
from .yamlsource import Locator, Path, parse_yaml

_SEPARATOR = re.compile(r"^---(\s|$)", re.MULTILINE)
DNS_LABELS = (("k8s-app", "kube-dns"),)  # CoreDNS's pod labels, as KIND deploys it


def check(ctx: Context) -> list[netpol.NetworkPolicy]:
    """Every policy of the file, valid and placed; problems (and warnings) in ctx."""
    found: list[tuple[netpol.NetworkPolicy, Path, Locator]] = []
    clusters = [c.name for c in ctx.spec.clusters]
    for index, entry in enumerate(ctx.spec.networkPolicies):
        path: Path = ("networkPolicies", index)
        if entry.cluster not in clusters:
            ctx.add(path + ("cluster",), "unknown cluster", entry.cluster,
                    f"known clusters: {', '.join(clusters)}" if clusters else "no clusters are declared")
        if (entry.policy is None) == (entry.file is None):
            ctx.add(path, "give exactly one of `policy` or `file`")
            continue
        if entry.policy is not None:
            reader = PolicyReader(ctx.locator, ctx.problems)
            policy = reader.policy(entry.policy, path + ("policy",), entry.cluster)
            if policy is not None:
                found.append((policy, path + ("policy",), ctx.locator))
        else:
            found += _read_file(ctx, entry.file, entry.cluster, path + ("file",))
    _check_places(ctx, found)
    return [policy for policy, _, _ in found]


def _read_file(ctx: Context, name: str, cluster: str, at: Path):
    try:
        text, file = ctx.files.read(name)
    except FileRefused as exc:
        ctx.add(at, f"cannot read the policy file: {exc.reason}", name,
                exc.hint or "the path is relative to the scenario file")
        return []
    found = []
    for number, (offset, piece) in enumerate(_documents(text)):
        doc = parse_yaml(piece, str(file))
        shift = {path: line + offset for path, line in doc.locator.lines.items()}
        locator = Locator(str(file), {at + (number,) + path: line for path, line in shift.items()})
        if doc.problems:
            ctx.problems.extend(Problem(p.path, p.message, p.value, p.hint,
                                        (p.line or 0) + offset or None, str(file)) for p in doc.problems)
            continue
        if doc.data is None:
            continue
        policy = PolicyReader(locator, ctx.problems).policy(doc.data, at + (number,), cluster)
        if policy is not None:
            found.append((policy, at + (number,), locator))
    return found


def _documents(text: str) -> list[tuple[int, str]]:
    """The YAML documents of a stream, each with the number of lines before it."""
    starts = [0] + [m.start() for m in _SEPARATOR.finditer(text) if m.start() > 0]
    found = []
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        piece = text[begin:end]
        if piece.startswith("---"):
            piece = "   " + piece[3:]
        found.append((text.count("\n", 0, begin), piece))
    return found


def _check_places(ctx: Context, found: list[tuple[netpol.NetworkPolicy, Path, Locator]]) -> None:
    seen: dict[tuple[str, str], Path] = {}
    pods = _pod_labels(ctx)
    for policy, path, locator in found:
        spaces = declared_namespaces(ctx, policy.cluster)
        if policy.cluster in ctx.node_names and policy.namespace not in spaces:
            ctx.problems.append(locator.problem(
                path + ("metadata", "namespace"), f"no namespace {policy.namespace} in cluster {policy.cluster}",
                policy.namespace, f"declare it under `namespaces`; known: {', '.join(spaces)}"))
            continue
        key = (policy.cluster, policy.key)
        if key in seen:
            ctx.problems.append(locator.problem(path + ("metadata", "name"),
                                                f"duplicate NetworkPolicy {policy.key} in cluster {policy.cluster}",
                                                policy.name, "one name, one policy"))
        seen.setdefault(key, path)
        _warn_empty(ctx, policy, path, locator, pods.get(policy.cluster, []))


def _pod_labels(ctx: Context) -> dict[str, list[netpol.PodView]]:
    """Every pod a policy could select, by cluster (names do not matter here)."""
    found: dict[str, list[netpol.PodView]] = {}
    for cluster in ctx.spec.clusters:
        views = found.setdefault(cluster.name, [])
        if cluster.podsPerNode:
            views.append(netpol.PodView("", "default", {}))
        views.append(netpol.PodView("", "kube-system", dict(DNS_LABELS)))
    for item in ctx.spec.workloads:
        found.setdefault(item.cluster, []).append(netpol.PodView(item.name, item.namespace, item.labels))
    return found


def _warn_empty(ctx: Context, policy: netpol.NetworkPolicy, path: Path, locator: Locator,
                pods: list[netpol.PodView]) -> None:
    labels = {ns: dict(namespace_labels(ns, {})) for ns in declared_namespaces(ctx, policy.cluster)}
    labels.update({n.name: dict(namespace_labels(n.name, n.labels)) for n in ctx.spec.namespaces
                   if n.cluster == policy.cluster})
    if not any(p.namespace == policy.namespace and policy.pod_selector.matches(p.labels) for p in pods):
        ctx.warnings.append(locator.problem(path + ("spec", "podSelector"),
                                            f"selects no pod of namespace {policy.namespace}", None,
                                            "the policy applies to nothing"))
    for direction, key in ((netpol.INGRESS, "from"), (netpol.EGRESS, "to")):
        for r, rule in enumerate(policy.rules(direction)):
            for p, peer in enumerate(rule.peers):
                if peer.ip_block is None and not any(
                        netpol.peer_selects(peer, policy.namespace, pod, None, labels) for pod in pods):
                    ctx.warnings.append(locator.problem(
                        path + ("spec", direction.lower(), r, key, p), "selects no pod", None,
                        "this peer allows nothing"))
