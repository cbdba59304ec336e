"""The scenario file's external schema, `kindscape/v1alpha1` (strict: unknown keys refused).

These models check structure and types only; meaning (references, addresses, overlaps)
is checked in `validate.py` so that every problem is reported at once, located.
Field names are the file's own (camelCase) so that the schema reads like the file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .kindconfig import KindCluster

API_VERSION = "kindscape/v1alpha1"


class StrictSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class NetworkSpec(StrictSpec):
    name: str
    subnet: str | None = None
    gateway: str | None = None
    masquerade: bool = True


class ClusterSpec(StrictSpec):
    name: str
    config: KindCluster | None = None
    configFile: str | None = None
    podsPerNode: int = 1


class InterconnectSpec(StrictSpec):
    clusters: list[str]
    pods: bool = True
    services: bool = False
    masquerade: bool = False


class HostSpec(StrictSpec):
    name: str
    networks: list[str] = Field(default_factory=lambda: ["kind"])
    address: str | None = None
    routesTo: list[str] = Field(default_factory=list)
    serviceRoutesTo: list[str] = Field(default_factory=list)


class DockerHostSpec(StrictSpec):
    routesTo: list[str] = Field(default_factory=list)
    serviceRoutesTo: list[str] = Field(default_factory=list)


class RouteSpec(StrictSpec):
    to: str
    via: str


class NodeExtrasSpec(StrictSpec):
    select: str
    networks: list[str] = Field(default_factory=list)
    loopback: str | None = None
    routes: list[RouteSpec] = Field(default_factory=list)
    nodeAddress: str = "primary"


Measure = str | int | float


class ImpairmentSpec(StrictSpec):
    # Values are checked in impairments.py, which explains a bare number ("25": 25 what?).
    between: list[str]
    delay: Measure | None = None
    jitter: Measure | None = None
    loss: Measure | None = None
    duplicate: Measure | None = None
    corrupt: Measure | None = None
    reorder: Measure | None = None
    rate: Measure | None = None


class ServiceSpec(StrictSpec):
    cluster: str
    name: str
    namespace: str = "default"
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "Headless", "ExternalName"] = "ClusterIP"
    port: int = 80
    targetPort: int | None = None
    nodePort: int | None = None
    externalName: str | None = None
    backends: str | None = None
    selector: dict[str, str] | None = None  # labels of the namespace's workload pods


Protocol = Literal["TCP", "UDP", "SCTP"]


class NamespaceSpec(StrictSpec):
    cluster: str
    name: str
    labels: dict[str, str] = Field(default_factory=dict)


class WorkloadPortSpec(StrictSpec):
    port: int
    protocol: Protocol = "TCP"
    name: str | None = None


class WorkloadSpec(StrictSpec):
    cluster: str
    namespace: str = "default"
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    replicas: int = 1
    nodes: str | None = None
    ports: list[WorkloadPortSpec] = Field(default_factory=lambda: [WorkloadPortSpec(port=80)])


class NetworkPolicyEntrySpec(StrictSpec):
    # The policy itself is checked field by field as the API server checks it (netpol
    # validation in scenario/policies.py), so it is taken here as plain data.
    cluster: str
    policy: dict[str, Any] | None = None
    file: str | None = None


class ExpectSpec(StrictSpec):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    reachable: bool = True
    sourcePreserved: bool | None = None
    port: int | None = None
    protocol: Protocol = "TCP"
    seenSource: str | None = None
    answeredBy: list[str] | None = None


class ScenarioSpec(StrictSpec):
    """A kindscape scenario: KIND clusters on Docker-style networks, and how they connect."""

    apiVersion: Literal["kindscape/v1alpha1"]
    kind: Literal["Scenario"]
    name: str
    networks: list[NetworkSpec] = Field(default_factory=list)
    clusters: list[ClusterSpec] = Field(default_factory=list)
    interconnect: list[InterconnectSpec] = Field(default_factory=list)
    hosts: list[HostSpec] = Field(default_factory=list)
    dockerHost: DockerHostSpec = Field(default_factory=DockerHostSpec)
    nodes: list[NodeExtrasSpec] = Field(default_factory=list)
    impairments: list[ImpairmentSpec] = Field(default_factory=list)
    services: list[ServiceSpec] = Field(default_factory=list)
    namespaces: list[NamespaceSpec] = Field(default_factory=list)
    workloads: list[WorkloadSpec] = Field(default_factory=list)
    networkPolicies: list[NetworkPolicyEntrySpec] = Field(default_factory=list)
    expect: list[ExpectSpec] = Field(default_factory=list)
    expectWhen: dict[str, list[ExpectSpec]] = Field(default_factory=dict)
