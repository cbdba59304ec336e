"""Kubernetes objects the kind runtime applies: probe pods (and the KIND config patches
it adds before `kind create cluster`). Pure text in, text out."""

from __future__ import annotations

import yaml

from .ops import MANAGED_BY, ProbePods

# kubeadm's config API versions KIND renders (by Kubernetes version); a JSON 6902 patch
# applies only to the document of its exact apiVersion, so the certSANs patch comes once
# for each and only the matching one takes effect.
KUBEADM_VERSIONS = ("v1beta2", "v1beta3", "v1beta4")


def probe_pods(op: ProbePods, image: str) -> str:
    """One Pod per probe endpoint, pinned to its node (nodeName: no scheduler, no taint
    checks) and tolerating everything; its container only has to stay up (the pause image)."""
    docs = []
    for pod in op.pods:
        docs.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod.name, "namespace": op.namespace,
                         "labels": {"app.kubernetes.io/managed-by": MANAGED_BY,
                                    "kindscape.io/node": pod.node,
                                    "kindscape.io/pod": pod.endpoint.rsplit("/", 1)[1],
                                    **dict(pod.labels)}},
            "spec": {"nodeName": pod.node,
                     "tolerations": [{"operator": "Exists"}],
                     "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "probe", "image": image,
                                     "imagePullPolicy": "IfNotPresent", **_ports(pod.ports)}]},
        })
    return "".join("---\n" + yaml.safe_dump(doc, sort_keys=False) for doc in docs)


def _ports(ports) -> dict:
    """A workload's ports, declared on its container: kube-network-policies resolves named
    ports from them (kindscape's server listens on them inside the pod)."""
    if not ports:
        return {}
    return {"ports": [{"containerPort": port, "protocol": protocol, **({"name": name} if name else {})}
                      for port, protocol, name in ports]}


def with_cert_sans(config: str, addresses: list[str]) -> str:
    """The KIND config with the apiserver certificate extended to `addresses` (the page:
    "add the loopback IP address of the control plane to the certificate SAN")."""
    if not addresses:
        return config
    data = yaml.safe_load(config) or {}
    patches = list(data.get("kubeadmConfigPatchesJSON6902") or [])
    operations = [{"op": "add", "path": "/apiServer/certSANs/-", "value": a} for a in addresses]
    for version in KUBEADM_VERSIONS:
        patches.append({"group": "kubeadm.k8s.io", "version": version, "kind": "ClusterConfiguration",
                        "patch": yaml.safe_dump(operations, sort_keys=False)})
    data["kubeadmConfigPatchesJSON6902"] = patches
    return yaml.safe_dump(data, sort_keys=False)
