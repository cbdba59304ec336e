"""KIND's v1alpha4 `Cluster` config: its schema, defaults and validation rules.

Follows kubernetes-sigs/kind `pkg/apis/config/v1alpha4/{types,default}.go` and
`pkg/internal/apis/config/validate.go`: strict decoding (unknown fields refused), the
same defaults, the same rules; we add what KIND does not check (subnet sizes, overlap)
in `validate.py`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Problem
from .yamlsource import Locator, Path

CLUSTER_NAME_RE = re.compile(r"^[a-z0-9.-]+$")

IPFamily = Literal["ipv4", "ipv6", "dual"]
DEFAULT_POD_SUBNET = {"ipv4": "10.244.0.0/16", "ipv6": "fd00:10:244::/56"}
DEFAULT_SERVICE_SUBNET = {"ipv4": "10.96.0.0/16", "ipv6": "fd00:10:96::/112"}
KUBE_PROXY_MODES = ("iptables", "ipvs", "nftables", "none")


class _KindModel(BaseModel):
    # KIND decodes with DisallowUnknownFields and JSON typing: no coercion.
    model_config = ConfigDict(extra="forbid", strict=True)


class Mount(_KindModel):
    containerPath: str = ""
    hostPath: str = ""
    readOnly: bool = False
    selinuxRelabel: bool = False
    propagation: Literal["None", "HostToContainer", "Bidirectional"] = "None"


class PortMapping(_KindModel):
    containerPort: int = 0
    hostPort: int = 0
    listenAddress: str = ""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class PatchJSON6902(_KindModel):
    group: str
    version: str
    kind: str
    patch: str


class KindNode(_KindModel):
    role: Literal["control-plane", "worker"] = "control-plane"
    image: str | None = None
    labels: dict[str, str] | None = None
    extraMounts: list[Mount] = Field(default_factory=list)
    extraPortMappings: list[PortMapping] = Field(default_factory=list)
    kubeadmConfigPatches: list[str] = Field(default_factory=list)
    kubeadmConfigPatchesJSON6902: list[PatchJSON6902] = Field(default_factory=list)


class Networking(_KindModel):
    ipFamily: IPFamily = "ipv4"
    apiServerAddress: str | None = None
    apiServerPort: int = 0
    podSubnet: str | None = None
    serviceSubnet: str | None = None
    disableDefaultCNI: bool = False
    kubeProxyMode: str | None = None
    dnsSearch: list[str] | None = None


class KindCluster(_KindModel):
    """A KIND v1alpha4 Cluster document, as `kind create cluster --config` reads it."""

    kind: Literal["Cluster"]
    apiVersion: Literal["kind.x-k8s.io/v1alpha4"]
    name: str | None = None
    nodes: list[KindNode] = Field(default_factory=list)
    networking: Networking = Field(default_factory=Networking)
    featureGates: dict[str, bool] | None = None
    runtimeConfig: dict[str, str] | None = None
    kubeadmConfigPatches: list[str] = Field(default_factory=list)
    kubeadmConfigPatchesJSON6902: list[PatchJSON6902] = Field(default_factory=list)
    containerdConfigPatches: list[str] = Field(default_factory=list)
    containerdConfigPatchesJSON6902: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class ClusterNetwork:
    """A cluster's networking after KIND's defaults, parsed; primary family first."""

    ip_family: str
    pod_subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    service_subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    roles: tuple[str, ...]  # node roles in config order, defaulted
    kube_proxy_mode: str
    document: str = ""  # the config as written, as YAML (what `kind create cluster --config -` reads)


def defaulted_roles(config: KindCluster) -> tuple[str, ...]:
    return tuple(node.role for node in config.nodes) or ("control-plane",)


def default_subnet(defaults: dict[str, str], family: str) -> str:
    if family == "dual":
        return f"{defaults['ipv4']},{defaults['ipv6']}"
    return defaults[family]


def resolve_network(config: KindCluster, at: Path, locator: Locator,
                    problems: list[Problem]) -> ClusterNetwork | None:
    """Apply KIND's defaults and check its networking rules; None when invalid."""
    net = config.networking
    family = net.ipFamily
    bad = len(problems)
    pods = _parse_subnets(net.podSubnet or default_subnet(DEFAULT_POD_SUBNET, family),
                          family, "pod", at + ("networking", "podSubnet"), locator, problems)
    services = _parse_subnets(net.serviceSubnet or default_subnet(DEFAULT_SERVICE_SUBNET, family),
                              family, "service", at + ("networking", "serviceSubnet"),
                              locator, problems)
    _check_ports(config, at, locator, problems)
    mode = net.kubeProxyMode or "iptables"
    if mode not in KUBE_PROXY_MODES:
        problems.append(locator.problem(at + ("networking", "kubeProxyMode"),
                                        "invalid kubeProxyMode", mode,
                                        f"one of {', '.join(KUBE_PROXY_MODES)}"))
    if not -1 <= net.apiServerPort <= 65535:
        problems.append(locator.problem(at + ("networking", "apiServerPort"),
                                        "invalid apiServerPort", net.apiServerPort,
                                        "-1 (docker picks), 0 (random) or a port up to 65535"))
    roles = defaulted_roles(config)
    if "control-plane" not in roles:
        problems.append(locator.problem(at + ("nodes",), "must have at least one control-plane node",
                                        None, "add `- role: control-plane`"))
    if len(problems) > bad or pods is None or services is None:
        return None
    return ClusterNetwork(family, pods, services, roles, mode, config_document(config))


def config_document(config: KindCluster) -> str:
    """The config as the user wrote it (no defaults filled in), as YAML."""
    import yaml
    data = config.model_dump(mode="json", exclude_unset=True)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _parse_subnets(text: str, family: str, what: str, path: Path, locator: Locator,
                   problems: list[Problem]):
    parts = [p.strip() for p in text.split(",") if p.strip()]
    nets = []
    for part in parts:
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError as exc:
            problems.append(locator.problem(path, f"invalid {what} subnet: {exc}", text,
                                            "a CIDR such as 10.110.0.0/16"))
            return None
    message = _family_mismatch([n.version for n in nets], family)
    if message:
        example = default_subnet(DEFAULT_POD_SUBNET if what == "pod" else DEFAULT_SERVICE_SUBNET, family)
        problems.append(locator.problem(path, f"invalid {what} subnet: {message}", text,
                                        f"ipFamily is {family}: e.g. {example}"))
        return None
    if what == "service":
        for net in nets:
            limit = 12 if net.version == 4 else 108
            if net.prefixlen < limit:
                problems.append(locator.problem(
                    path, f"service subnet {net} is larger than Kubernetes allows", text,
                    f"prefix length must be /{limit} or longer"))
                return None
    return tuple(nets)


def _family_mismatch(versions: list[int], family: str) -> str | None:
    """KIND's wording (validateSubnets); a dual-stack cluster with one CIDR, which KIND
    lets through, is refused too: its pods would not be dual-stack."""
    if family == "dual":
        if sorted(versions) != [4, 6]:
            return "expected two CIDRs, one from each family, for dual-stack networking"
        return None
    if len(versions) > 1:
        return "only one CIDR allowed for single-stack networking"
    want = 4 if family == "ipv4" else 6
    if versions != [want]:
        return f"expected IPv{want} CIDR for IPv{want} family"
    return None


def _check_ports(config: KindCluster, at: Path, locator: Locator, problems: list[Problem]) -> None:
    for index, node in enumerate(config.nodes):
        seen: set[tuple[str, int, str]] = set()
        for pindex, mapping in enumerate(node.extraPortMappings):
            path = at + ("nodes", index, "extraPortMappings", pindex)
            for field_name in ("containerPort", "hostPort"):
                port = getattr(mapping, field_name)
                if not -1 <= port <= 65535:
                    problems.append(locator.problem(path + (field_name,), f"invalid {field_name}",
                                                    port, "a port from 0 to 65535"))
            listen = mapping.listenAddress or "0.0.0.0"
            if listen in ("0.0.0.0", "::"):
                listen = "wildcard"  # KIND treats 0.0.0.0 and :: as the same address
            key = (listen, mapping.hostPort, mapping.protocol)
            if mapping.hostPort not in (0, -1) and key in seen:
                problems.append(locator.problem(path, "duplicate extraPortMapping",
                                                mapping.hostPort,
                                                "same listenAddress, hostPort and protocol as another"))
            seen.add(key)


def check_cluster_name(name: str, path: Path, locator: Locator, problems: list[Problem]) -> None:
    if CLUSTER_NAME_RE.match(name):
        return
    hint = "KIND cluster names match ^[a-z0-9.-]+$"
    lowered = re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).lower()
    if CLUSTER_NAME_RE.match(lowered):
        hint += f"; KIND refuses upper case, use {lowered!r}"
    problems.append(locator.problem(path, "invalid cluster name", name, hint))
