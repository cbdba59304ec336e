"""What NetworkPolicy adds to `up`: 50 policies over 500 workload pods (issue 18's target:
less than a second more than the same scenario without them).

    sudo python benchmarks/netpol_scale.py [--rounds 3] [--policies 50] [--pods 500]

One cluster of 1 control-plane and 9 workers, 10 labelled namespaces, 50 workloads of 10
replicas spread over the workers; the policies mix default-deny, pod and namespace
selectors (matchLabels and matchExpressions), ports, named ports, endPort and ipBlock.
Each round brings the scenario up without policies and with them (in-process, as
`kindscape.up`), then down; it prints the medians, the difference, and the size of the
rulesets (nft rules and set elements over all nodes).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import kindscape  # noqa: E402
from kindscape.plan import netpol_rules as plan_netpol  # noqa: E402
from kindscape.scenario import loads  # noqa: E402

NAMESPACES = 10


def _policy(index: int) -> dict:
    ns = f"ns{index % NAMESPACES}"
    app = f"app{index % 50}"
    kinds = [
        {"podSelector": {}, "policyTypes": ["Ingress"]},
        {"podSelector": {"matchLabels": {"app": app}},
         "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": f"t{index % 3}"}}}],
                      "ports": [{"port": 80}, {"port": "http"}]}]},
        {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": [app, "app1"]}]},
         "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "front"}}},
                               {"namespaceSelector": {"matchExpressions": [
                                   {"key": "team", "operator": "NotIn", "values": ["t2"]}]},
                                "podSelector": {}}]}]},
        {"podSelector": {"matchLabels": {"tier": "back"}}, "policyTypes": ["Egress"],
         "egress": [{"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.3.0/24"]}}],
                     "ports": [{"port": 8000, "endPort": 8100}, {"protocol": "UDP", "port": 53}]}]},
        {"podSelector": {"matchLabels": {"app": app}},
         "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": f"app{(index + 1) % 50}"}}}]}]},
    ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"p{index}", "namespace": ns}, "spec": kinds[index % len(kinds)]}


def scenario(policies: int, pods: int) -> str:
    workloads = pods // 10
    doc = {
        "apiVersion": "kindscape/v1alpha1", "kind": "Scenario", "name": "npbench",
        "clusters": [{"name": "b", "podsPerNode": 0, "config": {
            "kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [{"role": "control-plane"}] + [{"role": "worker"}] * 9}}],
        "namespaces": [{"cluster": "b", "name": f"ns{i}", "labels": {"team": f"t{i % 3}"}}
                       for i in range(NAMESPACES)],
        "workloads": [{"cluster": "b", "namespace": f"ns{i % NAMESPACES}", "name": f"w{i}",
                       "labels": {"app": f"app{i}", "tier": "front" if i % 2 else "back"}, "replicas": 10,
                       "nodes": "b-worker*", "ports": [{"port": 80, "name": "http"}, {"port": 53, "protocol": "UDP"}]}
                      for i in range(workloads)],
        "networkPolicies": [{"cluster": "b", "policy": _policy(i)} for i in range(policies)],
    }
    return json.dumps(doc)


def timed_up(text: str) -> tuple[float, float]:
    """Loading (validation included), then `up` of the loaded scenario: `kindscape up FILE`
    does both; the second is what the runtime adds."""
    started = time.perf_counter()
    loaded = loads(text)
    loading = time.perf_counter() - started
    lab = kindscape.up(loaded)
    elapsed = time.perf_counter() - started - loading
    lab.down()
    return loading, elapsed


def ruleset_size(text: str) -> tuple[int, int, int, float]:
    cluster = loads(text).topology.clusters[0]
    started = time.perf_counter()
    rulesets = plan_netpol.rulesets(cluster)
    planned = time.perf_counter() - started
    rules = sum(line.strip().endswith(('"', "accept", "drop")) and " comment " in line
                for r in rulesets for line in r.text.splitlines())
    elements = sum(line.count(",") + 1 for r in rulesets for line in r.text.splitlines() if "elements" in line)
    return len(rulesets), rules, elements, planned


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--policies", type=int, default=50)
    parser.add_argument("--pods", type=int, default=500)
    args = parser.parse_args()
    logging.getLogger("kindscape").setLevel(logging.ERROR)  # the generated policies' warnings
    plain, with_policies = scenario(0, args.pods), scenario(args.policies, args.pods)
    tables, rules, elements, planned = ruleset_size(with_policies)
    print(f"{args.pods} workload pods on 9 workers, {args.policies} policies: {tables} node tables, "
          f"{rules} rules, {elements} set elements (planned in {planned:.3f} s)")
    without, within = [], []
    for round_ in range(args.rounds):
        without.append(timed_up(plain))
        within.append(timed_up(with_policies))
        print(f"round {round_ + 1}: load + up {sum(without[-1]):.2f} s without policies, "
              f"{sum(within[-1]):.2f} s with them")
    for what, index in (("load", 0), ("up", 1)):
        base = statistics.median(t[index] for t in without)
        full = statistics.median(t[index] for t in within)
        print(f"median {what}: {base:.2f} s without, {full:.2f} s with {args.policies} policies: +{full - base:.2f} s")
    base = statistics.median(sum(t) for t in without)
    full = statistics.median(sum(t) for t in within)
    print(f"median load + up: {base:.2f} s without, {full:.2f} s with: +{full - base:.2f} s (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
