"""The JSON Schema of the scenario file, for editors (`kindscape schema`).

Generated from the pydantic models in `schema.py` and `kindconfig.py`, so it accepts
and refuses the same structure the loader does; this module adds what an editor shows:
a description for every field and the name rules of `naming.py`. The package ships the
result as `kindscape.schema.json` (regenerate it with `kindscape schema`; a test fails
when it is stale). Meaning (references, overlaps, addresses) stays the loader's job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import naming
from .kindconfig import CLUSTER_NAME_RE
from .schema import API_VERSION, ScenarioSpec

SCHEMA_ID = "urn:kindscape:scenario:v1alpha1"
SHIPPED = Path(__file__).resolve().parent.parent / "kindscape.schema.json"

_ENDPOINT = ("an endpoint: <cluster>/pods, <cluster>/nodes, a node (cluster-a-worker), a pod "
             "(cluster-a-worker/pod1), a host, docker-host or a Service (<cluster>/svc/<name>)")

# "<model>.<field as written in the file>": what an editor shows on hover and completion.
FIELD_DOCS: dict[str, str] = {
    "ScenarioSpec.apiVersion": f"Always {API_VERSION}.",
    "ScenarioSpec.kind": "Always Scenario.",
    "ScenarioSpec.name": "The scenario's name: lower-case letters, digits and '-', at most "
                         f"{naming.SCENARIO_NAME_MAX} characters. `kindscape check NAME` uses it.",
    "ScenarioSpec.networks": "Docker-style bridge networks. `kind` (172.18.0.0/16) always exists, "
                             "declared or not.",
    "ScenarioSpec.clusters": "KIND clusters, each with its KIND v1alpha4 config.",
    "ScenarioSpec.interconnect": "The page's loop: every node routes the other clusters' pod "
                                 "subnets via their nodes.",
    "ScenarioSpec.hosts": "External hosts (\"VMs\"): in no cluster, on one or more networks.",
    "ScenarioSpec.dockerHost": "Routes on the machine Docker runs on (the gateway of every network).",
    "ScenarioSpec.nodes": "Extras for KIND nodes selected by name: more networks, a loopback, "
                          "static routes, the InternalIP's source.",
    "ScenarioSpec.impairments": "Link emulation (delay, jitter, loss, rate) between two sides.",
    "ScenarioSpec.services": "Kubernetes Services of a cluster, backed by its emulated pods.",
    "ScenarioSpec.expect": "What `kindscape check` must find; any miss makes it exit 1.",
    "ScenarioSpec.expectWhen": "Named sets of expectations for other states of the scenario (e.g. "
                               "partitioned-east-west: [...]), checked with `kindscape check NAME "
                               "--expect SET`.",
    "NetworkSpec.name": "The network's name (Docker's rule); `kind` is KIND's shared network.",
    "NetworkSpec.subnet": "Its CIDR; default 172.18.0.0/16 for kind, required for any other network.",
    "NetworkSpec.gateway": "The host side's address; default: the subnet's first address.",
    "NetworkSpec.masquerade": "NAT traffic that leaves the subnet for the outside (Docker's "
                              "enable_ip_masquerade). Default true.",
    "ClusterSpec.name": "The KIND cluster name: ^[a-z0-9.-]+$ (KIND refuses upper case).",
    "ClusterSpec.config": "A KIND v1alpha4 Cluster document, verbatim (strict, as kind reads it).",
    "ClusterSpec.configFile": "Or a KIND config file, relative to this file.",
    "ClusterSpec.podsPerNode": "Emulated pods on each node (control-plane nodes too). Default 1.",
    "InterconnectSpec.clusters": "The clusters to join in a full mesh; [\"*\"] means all clusters.",
    "InterconnectSpec.pods": "Route every remote node's podCIDR via that node. Default true.",
    "InterconnectSpec.services": "Route each remote serviceSubnet via one of its nodes. Default false.",
    "InterconnectSpec.masquerade": "SNAT cross-cluster pod traffic to the node; default false: "
                                   "pods keep their own source IP.",
    "HostSpec.name": "The host's name (a hostname); `docker-host` is reserved.",
    "HostSpec.networks": "Its networks; the first is primary (its address and default route). "
                         "Default [kind].",
    "HostSpec.address": "Its address on the primary network; default: the next free address.",
    "HostSpec.routesTo": "Clusters whose pod subnets it routes via their nodes.",
    "HostSpec.serviceRoutesTo": "Clusters whose serviceSubnets it routes via one of their nodes.",
    "DockerHostSpec.routesTo": "Clusters whose pod subnets the Docker host routes via their nodes.",
    "DockerHostSpec.serviceRoutesTo": "Clusters whose serviceSubnets the Docker host routes via a node.",
    "NodeExtrasSpec.select": "KIND node names, as a shell glob (cluster-a-*, cluster-a-worker2).",
    "NodeExtrasSpec.networks": "More networks for each selected node (`docker network connect`).",
    "NodeExtrasSpec.loopback": "A prefix: each selected node gets its next /32 on lo, in node order.",
    "NodeExtrasSpec.routes": "Static routes on each selected node.",
    "NodeExtrasSpec.nodeAddress": "The node's InternalIP: primary (default, its kind address), a "
                                  "network name, or loopback.",
    "RouteSpec.to": "The destination CIDR.",
    "RouteSpec.via": "The next hop's address.",
    "ImpairmentSpec.between": "The two sides: each a cluster, a host, a node or a network.",
    "ImpairmentSpec.delay": "Added one-way delay, e.g. 25ms.",
    "ImpairmentSpec.jitter": "Delay variation, e.g. 5ms.",
    "ImpairmentSpec.loss": "Packet loss, e.g. 1%.",
    "ImpairmentSpec.duplicate": "Duplicated packets, e.g. 0.5%.",
    "ImpairmentSpec.corrupt": "Corrupted packets, e.g. 0.1%.",
    "ImpairmentSpec.reorder": "Reordered packets, e.g. 10%.",
    "ImpairmentSpec.rate": "Bandwidth limit, e.g. 100mbit.",
    "ServiceSpec.cluster": "The cluster the Service is in.",
    "ServiceSpec.name": "The Service's name.",
    "ServiceSpec.namespace": "Its namespace. Default default.",
    "ServiceSpec.type": "ClusterIP (default), NodePort, LoadBalancer, Headless or ExternalName.",
    "ServiceSpec.port": "The Service port. Default 80.",
    "ServiceSpec.targetPort": "The pods' port. Default: port.",
    "ServiceSpec.nodePort": "NodePort/LoadBalancer: the node port; default allocated from 30000-32767.",
    "ServiceSpec.externalName": "ExternalName only: the DNS name it aliases.",
    "ServiceSpec.backends": "A node glob whose pods back the Service; default: all pods of the cluster.",
    "ServiceSpec.selector": "Labels selecting the namespace's workload pods as backends "
                            "(instead of backends).",
    "ScenarioSpec.namespaces": "A cluster's namespaces and their labels (default and kube-system always exist).",
    "ScenarioSpec.workloads": "Named, labelled pods in a namespace, like a Deployment's replicas.",
    "ScenarioSpec.networkPolicies": "networking.k8s.io/v1 NetworkPolicy objects, verbatim or from files.",
    "NamespaceSpec.cluster": "The cluster the namespace is in.",
    "NamespaceSpec.name": "A DNS-1123 label.",
    "NamespaceSpec.labels": "Its labels (kubernetes.io/metadata.name is added, as Kubernetes does).",
    "WorkloadSpec.cluster": "The cluster the workload runs in.",
    "WorkloadSpec.namespace": "Its namespace (declared, or default/kube-system). Default default.",
    "WorkloadSpec.name": "A DNS-1123 label, unique in its cluster and namespace.",
    "WorkloadSpec.labels": "Its pods' labels: what Service and NetworkPolicy selectors match.",
    "WorkloadSpec.replicas": "How many pods. Default 1.",
    "WorkloadSpec.nodes": "A node glob the replicas are spread over, in node order; default the workers.",
    "WorkloadSpec.ports": "What every replica serves (besides 8080/TCP); default port 80/TCP.",
    "WorkloadPortSpec.port": "The port number, 1-65535.",
    "WorkloadPortSpec.protocol": "TCP (default), UDP or SCTP.",
    "WorkloadPortSpec.name": "A port name (IANA_SVC_NAME) for NetworkPolicy's named ports.",
    "NetworkPolicyEntrySpec.cluster": "The cluster the policy is applied to.",
    "NetworkPolicyEntrySpec.policy": "A networking.k8s.io/v1 NetworkPolicy, verbatim.",
    "NetworkPolicyEntrySpec.file": "Or a file of them (YAML documents), relative to this file.",
    "ExpectSpec.port": "The port probed; default 8080 for pods, nodes and hosts, a Service's port.",
    "ExpectSpec.protocol": "TCP (default), UDP or SCTP.",
    "ExpectSpec.from": "Where the probes start: " + _ENDPOINT + ".",
    "ExpectSpec.to": "What they connect to: " + _ENDPOINT + ".",
    "ExpectSpec.reachable": "Whether a TCP connection must be accepted. Default true.",
    "ExpectSpec.sourcePreserved": "Whether the receiver must see the sender's own address (no NAT).",
    "ExpectSpec.seenSource": "The source address the receiver must see: an address, or an endpoint "
                             "(any of its addresses), e.g. a node when masqueraded.",
    "ExpectSpec.answeredBy": "For a Service: the backend pods that may answer; with `check --measure` "
                             "each must answer at least once.",
    "KindCluster.kind": "Always Cluster.",
    "KindCluster.apiVersion": "Always kind.x-k8s.io/v1alpha4.",
    "KindCluster.name": "KIND's own name field; the scenario's cluster name is used.",
    "KindCluster.nodes": "The nodes, in order; default one control-plane.",
    "KindCluster.networking": "Pod and service subnets, IP family, kube-proxy mode.",
    "Networking.ipFamily": "ipv4 (default), ipv6 or dual.",
    "Networking.podSubnet": "The pod CIDR (default 10.244.0.0/16); each node gets a /24 of it.",
    "Networking.serviceSubnet": "The service CIDR (default 10.96.0.0/16).",
    "Networking.kubeProxyMode": "iptables (default), ipvs, nftables or none.",
    "Networking.disableDefaultCNI": "Do not install kindnet.",
    "KindNode.role": "control-plane or worker.",
}

_NAME_RULES: dict[str, dict[str, Any]] = {
    "ScenarioSpec.name": {"pattern": naming.SCENARIO_NAME_RE.pattern,
                          "maxLength": naming.SCENARIO_NAME_MAX},
    "ClusterSpec.name": {"pattern": CLUSTER_NAME_RE.pattern, "maxLength": naming.CLUSTER_NAME_MAX},
    "HostSpec.name": {"pattern": naming.HOST_NAME_RE.pattern, "maxLength": naming.HOST_NAME_MAX},
    "NetworkSpec.name": {"pattern": naming.NETWORK_NAME_RE.pattern,
                         "maxLength": naming.NETWORK_NAME_MAX},
}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    schema = ScenarioSpec.model_json_schema(by_alias=True)
    models = dict(schema.pop("$defs"))
    models["ScenarioSpec"] = schema
    for model_name, model in models.items():
        _document(model_name, model)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "kindscape scenario",
        "description": "A kindscape scenario (apiVersion kindscape/v1alpha1): KIND clusters on "
                       "Docker-style networks, how they connect, and what must reach what.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
        "$defs": {name: model for name, model in sorted(models.items()) if name != "ScenarioSpec"},
    }


def _document(model_name: str, model: dict[str, Any]) -> None:
    """Replace pydantic's generated titles with descriptions, and add the name rules."""
    for field, prop in model.get("properties", {}).items():
        prop.pop("title", None)
        _fold_optional(prop)
        key = f"{model_name}.{field}"
        if key in FIELD_DOCS:
            prop["description"] = FIELD_DOCS[key]
        prop.update(_NAME_RULES.get(key, {}))


def _fold_optional(prop: dict[str, Any]) -> None:
    """`X | None` without `anyOf`, so an editor reports the error inside X rather than
    "not valid under any of the given schemas": plain types become a list of types (the
    same instances); a model or null becomes the model (an explicit null for a section,
    which means the same as leaving it out, is then flagged by the editor)."""
    branches = prop.get("anyOf")
    if not branches:
        return
    refs = [b for b in branches if "$ref" in b]
    if len(refs) == 1 and all(b == {"type": "null"} for b in branches if b is not refs[0]):
        del prop["anyOf"]
        prop.update(refs[0])
        return
    merged: dict[str, Any] = {"type": []}
    for branch in branches:
        if "$ref" in branch or "type" not in branch or (set(branch) - {"type"}) & set(merged):
            return  # not plain types, or keywords that would clash: keep anyOf
        merged["type"].append(branch["type"])
        merged.update({k: v for k, v in branch.items() if k != "type"})
    del prop["anyOf"]
    prop.update(merged)


def schema_text() -> str:
    """The schema as `kindscape schema` prints it (and the shipped file holds it)."""
    return json.dumps(scenario_schema(), indent=2, sort_keys=False) + "\n"
