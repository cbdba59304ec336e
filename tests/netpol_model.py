"""The Kubernetes NetworkPolicy e2e suite's model, for our own truth-table tests
(test/e2e/network/netpol: namespaces x, y, z, each with pods a, b, c, every pod serving
ports 80 and 81 on TCP and UDP; a truth table of who reaches whom, built by hand from
"everything allowed" or "everything denied" and explicit changes, never computed by the
code under test).

`scenario(policies)` is the scenario text; `Truth` the expected reachability."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
EVERY = tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in PODS)
# Each pod on its own node of three: same-node and cross-node pairs both occur.
PLACEMENT = {"a": "np-worker", "b": "np-worker2", "c": "np-control-plane"}


def endpoint(pod: str) -> str:
    ns, name = pod.split("/")
    return f"np/pod/{ns}/{name}"


def _ports(pod: str) -> list[dict]:
    """80 and 81 on TCP and UDP, named as the e2e pods name them (serve-81-udp, ...), except
    that the TCP port named `http` is 80 on every pod but x/b, where it is 81: a named port
    is resolved for each destination pod."""
    http = 81 if pod == "x/b" else 80
    return [{"port": port, "protocol": proto,
             "name": "http" if (port, proto) == (http, "TCP") else f"serve-{port}-{proto.lower()}"}
            for port in (80, 81) for proto in ("TCP", "UDP")]


def scenario(policies: list[dict], name: str = "netpol") -> str:
    """The scenario: a three-node cluster `np`, namespaces x, y, z labelled ns=<name>, pods
    a, b, c labelled pod=<name>, and `policies` (v1 NetworkPolicy objects)."""
    doc = {
        "apiVersion": "kindscape/v1alpha1", "kind": "Scenario", "name": name,
        "clusters": [{"name": "np", "podsPerNode": 0, "config": {
            "kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}]}}],
        "namespaces": [{"cluster": "np", "name": ns, "labels": {"ns": ns}} for ns in NAMESPACES],
        "workloads": [{"cluster": "np", "namespace": p.split("/")[0], "name": p.split("/")[1],
                       "labels": {"pod": p.split("/")[1]}, "nodes": PLACEMENT[p.split("/")[1]],
                       "ports": _ports(p)} for p in EVERY],
        "networkPolicies": [{"cluster": "np", "policy": policy} for policy in policies],
    }
    return json.dumps(doc, indent=1)  # JSON is YAML


def policy(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod_is(*names: str) -> Callable[[str], bool]:
    """A peer description: "x" (the namespace), "x/a" (one pod), or "*"."""
    def match(pod: str) -> bool:
        return any(n == "*" or pod == n or pod.split("/")[0] == n for n in names)
    return match


class Truth:
    """Expected reachability of every ordered pair of distinct pods (self-pairs are no probe)."""

    def __init__(self, default: bool):
        self.table = {(s, d): default for s, d in itertools.permutations(EVERY, 2)}

    def expect(self, source: Callable[[str], bool], target: Callable[[str], bool], value: bool) -> "Truth":
        for s, d in self.table:
            if source(s) and target(d):
                self.table[(s, d)] = value
        return self

    def ingress(self, target: str, value: bool) -> "Truth":
        return self.expect(pod_is("*"), pod_is(target), value)

    def egress(self, source: str, value: bool) -> "Truth":
        return self.expect(pod_is(source), pod_is("*"), value)


def matrix(found: dict[tuple[str, str], bool], wanted: dict[tuple[str, str], bool]) -> str:
    """The e2e suite's picture: rows from, columns to; '.' reachable, 'X' not, and '!'
    after a cell where the probe disagrees with the truth table."""
    lines = ["     " + "".join(f"{p.replace('/', ''):>4}" for p in EVERY)]
    for s in EVERY:
        cells = ["  - " if s == d else
                 f"{'.' if found[(s, d)] else 'X':>3}{'!' if found[(s, d)] != wanted[(s, d)] else ' '}"
                 for d in EVERY]
        lines.append(f"{s:>4} " + "".join(cells))
    return "\n".join(lines)
