"""A cluster's Kubernetes API, through kubectl argv lists (`--context kind-<cluster>`, the
context `kind create cluster` writes). kubectl rather than a client library: it is what
KIND users have, it needs no extra Python dependency, and the plan shows the same commands."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ...errors import CommandFailed, RuntimeFailure
from ...runner import run


API_RETRY = 120  # seconds kubectl is tried again while the API server does not answer
# kubectl's words for an API server that is (re)starting, not for a refused request.
TRANSIENT = ("connection refused", "was refused", "connection reset by peer", "TLS handshake timeout",
             "unexpected EOF", "the server is currently unable to handle the request",
             "ServiceUnavailable", "etcdserver: leader changed", "i/o timeout")


def _transient(stderr: str) -> bool:
    return any(words in stderr for words in TRANSIENT)


@dataclass(frozen=True)
class NodeStatus:
    pod_cidrs: tuple[str, ...]
    internal_ips: tuple[str, ...]


@dataclass(frozen=True)
class PodStatus:
    node: str
    ips: tuple[str, ...]


class Kubectl:
    def __init__(self, cluster: str):
        self.cluster = cluster
        self.context = f"kind-{cluster}"

    def _call(self, argv: list[str], input: str | None, timeout: float):
        """One kubectl process (the tests' stand-in answers here instead)."""
        return run(argv, input=input, timeout=timeout)

    def _run(self, args: list[str], input: str | None = None, timeout: float = 120):
        """kubectl, tried again while the API server is briefly away (it restarts when its
        manifest changes; every call here is safe to repeat: get, apply, wait, rollout)."""
        deadline = time.monotonic() + API_RETRY
        while True:
            try:
                return self._call(["kubectl", "--context", self.context, *args], input, timeout)
            except CommandFailed as exc:
                if not _transient(exc.stderr) or time.monotonic() >= deadline:
                    raise RuntimeFailure(f"kubectl on cluster {self.cluster} failed: {' '.join(args)}\n"
                                         f"{exc.stderr.strip()}") from None
            time.sleep(1)

    def nodes(self) -> dict[str, NodeStatus]:
        data = json.loads(self._run(["get", "nodes", "-o", "json"]).stdout)
        found = {}
        for item in data.get("items", []):
            spec, status = item.get("spec") or {}, item.get("status") or {}
            cidrs = tuple(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))
            ips = tuple(a["address"] for a in status.get("addresses") or [] if a.get("type") == "InternalIP")
            found[item["metadata"]["name"]] = NodeStatus(cidrs, ips)
        return found

    def nodes_with_cidrs(self, names: list[str], timeout: float = 120) -> dict[str, NodeStatus]:
        """The nodes once each has its podCIDR (kube-controller-manager hands them out as
        nodes register, shortly after `kind create cluster` returns)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.nodes()
            missing = [n for n in names if not (n in found and found[n].pod_cidrs)]
            if not missing:
                return found
            if time.monotonic() > deadline:
                raise RuntimeFailure(f"cluster {self.cluster}: no podCIDR for {', '.join(missing)} "
                                     f"after {timeout:.0f} s")
            time.sleep(1)

    def apply(self, manifest: str) -> None:
        self._run(["apply", "-f", "-"], input=manifest)

    def wait_ready(self, namespace: str, selector: str, timeout: int = 300) -> None:
        self._run(["-n", namespace, "wait", "--for=condition=Ready", "pod", "-l", selector,
                   f"--timeout={timeout}s"], timeout=timeout + 30)

    def pods(self, namespace: str, selector: str) -> dict[str, PodStatus]:
        data = json.loads(self._run(["-n", namespace, "get", "pods", "-l", selector, "-o", "json"]).stdout)
        found = {}
        for item in data.get("items", []):
            status = item.get("status") or {}
            ips = tuple(p["ip"] for p in status.get("podIPs") or [] if p.get("ip")) \
                or ((status["podIP"],) if status.get("podIP") else ())
            found[item["metadata"]["name"]] = PodStatus((item.get("spec") or {}).get("nodeName", ""), ips)
        return found

    def load_balancer_ips(self, namespace: str, name: str) -> tuple[str, ...]:
        """The addresses Kubernetes (its cloud provider) gave a LoadBalancer Service, if any."""
        data = json.loads(self._run(["-n", namespace, "get", "service", name, "-o", "json"]).stdout)
        ingress = ((data.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return tuple(item["ip"] for item in ingress if item.get("ip"))

    # Waiting for what the cluster does after kindscape changed it (waits.py) ------------
    def _until(self, what: str, done, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeFailure(f"cluster {self.cluster}: {what} after {timeout:.0f} s")
            time.sleep(1)

    def await_apiserver(self, address: str, timeout: float = 300) -> None:
        """The restarted apiserver serves and advertises `address` (the `kubernetes` slice)."""
        def advertised() -> bool:
            data = json.loads(self._run(["-n", "default", "get", "endpointslices", "-l",
                                         "kubernetes.io/service-name=kubernetes", "-o", "json"]).stdout)
            return any(address in e.get("addresses", []) for item in data.get("items", [])
                       for e in item.get("endpoints") or [])
        self._until(f"the apiserver does not advertise {address}", advertised, timeout)
        self._run(["get", "--raw", "/readyz"])

    def await_node_address(self, node: str, ips: tuple[str, ...], timeout: float = 300) -> None:
        def reported() -> bool:
            found = self.nodes().get(node)
            return found is not None and found.internal_ips == tuple(ips)
        self._until(f"node {node} does not report InternalIP {', '.join(ips)} (kubelet --node-ip)",
                    reported, timeout)

    def delete_pods_on(self, namespace: str, selector: str, node: str) -> None:
        self._run(["-n", namespace, "delete", "pod", "-l", selector, "--field-selector", f"spec.nodeName={node}"])

    def rollout(self, namespace: str, workload: str, timeout: int = 300) -> None:
        self._run(["-n", namespace, "rollout", "status", workload, f"--timeout={timeout}s"], timeout=timeout + 30)
