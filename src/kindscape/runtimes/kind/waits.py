"""Waiting for Kubernetes where the kind runtime changes a cluster under its feet, or
before its parts are ready (each renders itself as the kubectl loop a user would type).

- A moved control plane: the apiserver's static pod manifest changed, so the kubelet
  restarts it; kubectl is refused until the new one serves (and advertises the new
  address in the `kubernetes` Service's EndpointSlice).
- A moved node: its kubelet reports the new InternalIP once it restarted. kindnet on that
  node decides which node is its own by HOST_IP, which the downward API fixed when its
  pod started (KIND's kindnet manifest): until its pod is replaced it takes its own node
  for a remote one and fails to route its own podCIDR via its own new address.
- kube-proxy and CoreDNS: `kind create cluster` returns before they are ready.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .ops import Phase

KINDNET = "app=kindnet"  # the label of KIND's kindnet DaemonSet's pods
ROLLOUT_TIMEOUT = 300


def _kubectl(cluster: str, *args: str) -> str:
    return shlex.join(["kubectl", "--context", f"kind-{cluster}", *args])


@dataclass(frozen=True)
class AwaitApiserver:
    cluster: str
    address: str  # the address it now advertises
    phase = Phase.NODE_ADDRESS

    def shell(self) -> str:
        slices = _kubectl(self.cluster, "-n", "default", "get", "endpointslices", "-l",
                          "kubernetes.io/service-name=kubernetes", "-o",
                          "jsonpath={.items[*].endpoints[*].addresses[*]}")
        ready = _kubectl(self.cluster, "get", "--raw", "/readyz")
        return (f"until {slices} 2>/dev/null | grep -qw {shlex.quote(self.address)}; do sleep 1; done"
                "  # the kubelet restarts the apiserver: wait for the new one\n"
                f"until {ready} >/dev/null 2>&1; do sleep 1; done")


@dataclass(frozen=True)
class AwaitNodeAddress:
    cluster: str
    node: str
    ips: tuple[str, ...]  # the InternalIPs the restarted kubelet must report
    phase = Phase.NODE_ADDRESS

    def shell(self) -> str:
        found = _kubectl(self.cluster, "get", "node", self.node, "-o",
                         'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}')
        return (f'until [ "$({found})" = {shlex.quote(" ".join(self.ips))} ]; do sleep 1; done'
                "  # the kubelet reports its new --node-ip")


@dataclass(frozen=True)
class RestartKindnet:
    cluster: str
    nodes: tuple[str, ...]
    phase = Phase.NODE_ADDRESS

    def shell(self) -> str:
        lines = [_kubectl(self.cluster, "-n", "kube-system", "delete", "pod", "-l", KINDNET,
                          "--field-selector", f"spec.nodeName={node}")
                 + "  # kindnet's HOST_IP is fixed at pod start: a new pod sees the new address"
                 for node in self.nodes]
        lines.append(_kubectl(self.cluster, "-n", "kube-system", "rollout", "status", "daemonset/kindnet",
                              f"--timeout={ROLLOUT_TIMEOUT}s"))
        return "\n".join(lines)


@dataclass(frozen=True)
class AwaitRollouts:
    cluster: str
    workloads: tuple[str, ...]  # e.g. daemonset/kube-proxy, deployment/coredns
    phase = Phase.PODS

    def shell(self) -> str:
        return "\n".join(_kubectl(self.cluster, "-n", "kube-system", "rollout", "status", workload,
                                  f"--timeout={ROLLOUT_TIMEOUT}s") for workload in self.workloads)
