"""A networking.k8s.io/v1 NetworkPolicy read as the API server reads it (strict decoding,
then `ValidateNetworkPolicy` and `ValidateLabelSelector` of k8s.io/kubernetes), every
problem located, all at once. Returns the policy as `netpol` data when it is valid.

The rules, as the API server has them:
- unknown fields are refused (kubectl's strict field validation); wrong types too;
- names: metadata.name a DNS-1123 subdomain, metadata.namespace a DNS-1123 label;
- label keys: qualified names (an optional DNS subdomain prefix and '/', then at most 63
  of [A-Za-z0-9-_.], alphanumeric at both ends); values: at most 63 such, or empty;
- matchExpressions: In/NotIn need values, Exists/DoesNotExist take none, nothing else;
- policyTypes: Ingress and Egress, at most two (default: Ingress, and Egress when there
  are egress rules);
- a peer is exactly one of ipBlock or pod/namespace selectors; ipBlock needs a cidr and
  each except must be a strict subset of it;
- ports: protocol TCP, UDP or SCTP (default TCP); port 1-65535 or a port name
  (IANA_SVC_NAME); endPort only with a numeric port, and not below it.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any

from .. import netpol
from ..errors import Problem
from .yamlsource import Locator, Path

API_VERSION = "networking.k8s.io/v1"
KIND = "NetworkPolicy"
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME = re.compile(r"^[-a-z0-9]+$")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
# ObjectMeta fields the server sets or ignores on create: accepted, not used.
_META_IGNORED = ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "managedFields",
                 "generateName", "selfLink")
_TYPES = {str: "a string", int: "a whole number", list: "a list", dict: "a mapping"}


def is_port_name(text: str) -> str | None:
    """Why `text` is not an IANA_SVC_NAME (a container port name), or None."""
    if not 1 <= len(text) <= 15:
        return "must be no more than 15 characters"
    if not _PORT_NAME.match(text):
        return "must contain only lower-case letters, digits and '-'"
    if "--" in text or text.startswith("-") or text.endswith("-"):
        return "must not begin or end with '-' nor hold '--'"
    if not re.search("[a-z]", text):
        return "must contain at least one letter"
    return None


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a qualified name (a label key), or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in prefix:
        return "a qualified name has at most one '/'"
    if "/" in key and not prefix:
        return "the prefix before '/' must be non-empty"
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "the prefix must be a DNS subdomain (lower case, e.g. example.com)"
    if not name or len(name) > 63 or not _NAME_PART.match(name):
        return ("the name must be 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends "
                "(e.g. 'app', 'my.name'), after an optional DNS prefix and '/'")
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return "a label value is empty or 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends"
    return None


class PolicyReader:
    """Reads policy documents, recording problems with the locator of their file."""

    def __init__(self, locator: Locator, problems: list[Problem]):
        self.locator = locator
        self.problems = problems

    def add(self, path: Path, message: str, value: Any = None, hint: str | None = None) -> None:
        shown = value if value is None or isinstance(value, (str, int, float, bool)) else None
        self.problems.append(self.locator.problem(path, message, shown, hint))

    def mapping(self, data: Any, path: Path, known: tuple[str, ...], ignored: tuple[str, ...] = ()) -> dict | None:
        if not isinstance(data, dict):
            self.add(path, "must be a mapping", data)
            return None
        for key in data:
            if key not in known and key not in ignored:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                self.add(path + (key,), "unknown field", None,
                         f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(known))
        return {k: v for k, v in data.items() if k in known and v is not None}

    def typed(self, data: Any, kind: type, path: Path) -> bool:
        if isinstance(data, kind) and not (kind is int and isinstance(data, bool)):
            return True
        self.add(path, f"must be {_TYPES[kind]}", data)
        return False

    def items(self, data: dict, key: str, path: Path) -> list[tuple[Path, Any]]:
        value = data.get(key, [])
        if not self.typed(value, list, path + (key,)):
            return []
        return [(path + (key, i), item) for i, item in enumerate(value)]

    # The document --------------------------------------------------------------
    def policy(self, data: Any, at: Path, cluster: str) -> netpol.NetworkPolicy | None:
        before = len(self.problems)
        doc = self.mapping(data, at, ("apiVersion", "kind", "metadata", "spec"))
        if doc is None:
            return None
        for key, want in (("apiVersion", API_VERSION), ("kind", KIND)):
            if doc.get(key) != want:
                self.add(at + (key,), f"must be {want}" if key in doc else "required field is missing",
                         doc.get(key), f"{key}: {want}")
        name, namespace = self.metadata(doc.get("metadata"), at + ("metadata",))
        spec = self.mapping(doc.get("spec", {}), at + ("spec",), ("podSelector", "policyTypes", "ingress", "egress"))
        if spec is None:
            return None
        selector = self.selector(spec.get("podSelector", {}), at + ("spec", "podSelector"))
        ingress = tuple(self.rule(item, path, "from") for path, item in self.items(spec, "ingress", at + ("spec",)))
        egress = tuple(self.rule(item, path, "to") for path, item in self.items(spec, "egress", at + ("spec",)))
        types = self.policy_types(spec, at + ("spec",), bool(egress))
        if len(self.problems) > before or name is None or selector is None:
            return None
        return netpol.NetworkPolicy(cluster, namespace, name, selector, types, ingress, egress)  # type: ignore[arg-type]

    def metadata(self, data: Any, path: Path) -> tuple[str | None, str]:
        if data is None:
            self.add(path, "required field is missing", None, "metadata: {name: ..., namespace: ...}")
            return None, "default"
        meta = self.mapping(data, path, ("name", "namespace", "labels", "annotations"), _META_IGNORED)
        if meta is None:
            return None, "default"
        name, namespace = meta.get("name"), meta.get("namespace", "default")
        if name is None:
            self.add(path + ("name",), "required field is missing", None, "a DNS-1123 subdomain")
        elif self.typed(name, str, path + ("name",)) and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
            self.add(path + ("name",), "invalid name", name,
                     "a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253 characters")
            name = None
        if self.typed(namespace, str, path + ("namespace",)) and (len(namespace) > 63
                                                                   or not DNS_LABEL.match(namespace)):
            self.add(path + ("namespace",), "invalid namespace", namespace,
                     "a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters")
        self.labels(meta.get("labels", {}), path + ("labels",))
        annotations = meta.get("annotations", {})
        if self.typed(annotations, dict, path + ("annotations",)):
            for key, value in annotations.items():
                self.key(key, path + ("annotations", key))
                self.typed(value, str, path + ("annotations", key))
        return (name if isinstance(name, str) else None), (namespace if isinstance(namespace, str) else "default")

    def policy_types(self, spec: dict, path: Path, has_egress: bool) -> tuple[str, ...]:
        if "policyTypes" not in spec or spec["policyTypes"] == []:
            return (netpol.INGRESS, netpol.EGRESS) if has_egress else (netpol.INGRESS,)
        found = []
        for item_path, item in self.items(spec, "policyTypes", path):
            if item not in (netpol.INGRESS, netpol.EGRESS):
                self.add(item_path, "unsupported policy type", item, "Ingress or Egress")
            else:
                found.append(item)
        if len(spec["policyTypes"]) > 2:
            self.add(path + ("policyTypes",), "may not specify more than two policyTypes",
                     None, "Ingress, Egress or both")
        return tuple(dict.fromkeys(found))

    # Labels and selectors ---------------------------------------------------------
    def key(self, key: Any, path: Path) -> bool:
        if not self.typed(key, str, path):
            return False
        why = label_key_problem(key)
        if why:
            self.add(path, "invalid label key", key, why)
        return why is None

    def value(self, value: Any, path: Path) -> bool:
        if not self.typed(value, str, path):
            return False
        why = label_value_problem(value)
        if why:
            self.add(path, "invalid label value", value, why)
        return why is None

    def labels(self, data: Any, path: Path) -> tuple[tuple[str, str], ...]:
        if not self.typed(data, dict, path):
            return ()
        good = [(k, v) for k, v in data.items() if self.key(k, path + (k,)) & self.value(v, path + (k,))]
        return tuple(good)

    def selector(self, data: Any, path: Path) -> netpol.LabelSelector | None:
        found = self.mapping(data, path, ("matchLabels", "matchExpressions"))
        if found is None:
            return None
        before = len(self.problems)
        labels = self.labels(found.get("matchLabels", {}), path + ("matchLabels",))
        expressions = [self.requirement(item, item_path)
                       for item_path, item in self.items(found, "matchExpressions", path)]
        if len(self.problems) > before:
            return None
        return netpol.LabelSelector(labels, tuple(e for e in expressions if e is not None))

    def requirement(self, data: Any, path: Path) -> netpol.Requirement | None:
        found = self.mapping(data, path, ("key", "operator", "values"))
        if found is None:
            return None
        if "key" not in found:
            self.add(path + ("key",), "required field is missing")
        else:
            self.key(found["key"], path + ("key",))
        operator = found.get("operator")
        values = [v for v_path, v in self.items(found, "values", path) if self.value(v, v_path)]
        if operator in ("In", "NotIn") and not values and not found.get("values"):
            self.add(path + ("values",), f"must be specified when `operator` is {operator!r}", None,
                     "one or more label values")
        elif operator in ("Exists", "DoesNotExist") and found.get("values"):
            self.add(path + ("values",), f"may not be specified when `operator` is {operator!r}", None,
                     "leave values out")
        elif operator not in OPERATORS:
            self.add(path + ("operator",), "not a valid selector operator" if operator else
                     "required field is missing", operator, ", ".join(OPERATORS))
            return None
        if not isinstance(found.get("key"), str):
            return None
        return netpol.Requirement(found["key"], operator, tuple(values))

    # Rules, peers, ports ---------------------------------------------------------
    def rule(self, data: Any, path: Path, peers_key: str) -> netpol.Rule:
        found = self.mapping(data, path, ("ports", peers_key))
        if found is None:
            return netpol.Rule()
        peers = [self.peer(item, item_path) for item_path, item in self.items(found, peers_key, path)]
        ports = [self.port(item, item_path) for item_path, item in self.items(found, "ports", path)]
        return netpol.Rule(tuple(p for p in peers if p is not None), tuple(p for p in ports if p is not None))

    def peer(self, data: Any, path: Path) -> netpol.Peer | None:
        found = self.mapping(data, path, ("podSelector", "namespaceSelector", "ipBlock"))
        if found is None:
            return None
        if not found:
            self.add(path, "must specify a peer", None, "podSelector, namespaceSelector or ipBlock")
            return None
        block = self.ip_block(found["ipBlock"], path + ("ipBlock",)) if "ipBlock" in found else None
        if "ipBlock" in found and len(found) > 1:
            self.add(path, "may not specify both ipBlock and another peer", None,
                     "give ipBlock in a peer of its own")
            return None
        if "ipBlock" in found:
            return netpol.Peer(ip_block=block) if block else None
        pods = self.selector(found["podSelector"], path + ("podSelector",)) if "podSelector" in found else None
        spaces = self.selector(found["namespaceSelector"], path + ("namespaceSelector",)) \
            if "namespaceSelector" in found else None
        return netpol.Peer(pods, spaces)

    def cidr(self, text: Any, path: Path) -> netpol.IPNet | None:
        if not self.typed(text, str, path):
            return None
        try:
            return ipaddress.ip_network(text, strict=False)  # the API server's ParseCIDRSloppy
        except ValueError:
            self.add(path, "must be a valid CIDR", text, "e.g. 10.9.8.0/24 or 2001:db8::/64")
            return None

    def ip_block(self, data: Any, path: Path) -> netpol.IPBlock | None:
        found = self.mapping(data, path, ("cidr", "except"))
        if found is None:
            return None
        if "cidr" not in found:
            self.add(path + ("cidr",), "required field is missing", None, "e.g. 10.0.0.0/8")
            return None
        cidr = self.cidr(found["cidr"], path + ("cidr",))
        excepts = []
        for item_path, item in self.items(found, "except", path):
            inner = self.cidr(item, item_path)
            if inner is None or cidr is None:
                continue
            if inner.version != cidr.version or not inner.subnet_of(cidr) or inner.prefixlen <= cidr.prefixlen:
                self.add(item_path, "must be a strict subset of `cidr`", item, f"a CIDR inside {cidr}, smaller than it")
            else:
                excepts.append(inner)
        if cidr is None or len(excepts) < len(found.get("except", []) or []):
            return None
        return netpol.IPBlock(cidr, tuple(excepts))

    def port(self, data: Any, path: Path) -> netpol.PolicyPort | None:
        found = self.mapping(data, path, ("protocol", "port", "endPort"))
        if found is None:
            return None
        before = len(self.problems)
        protocol = found.get("protocol", "TCP")
        if protocol not in netpol.PROTOCOLS:
            self.add(path + ("protocol",), "unsupported protocol", protocol, "TCP, UDP or SCTP")
        port, end = found.get("port"), found.get("endPort")
        if end is not None and self.typed(end, int, path + ("endPort",)) and not 1 <= end <= 65535:
            self.add(path + ("endPort",), "must be between 1 and 65535, inclusive", end)
        if port is None:
            if end is not None:
                self.add(path + ("endPort",), "may not be specified when `port` is not specified", end)
        elif isinstance(port, int) and not isinstance(port, bool):
            if not 1 <= port <= 65535:
                self.add(path + ("port",), "must be between 1 and 65535, inclusive", port)
            if isinstance(end, int) and end < port:
                self.add(path + ("endPort",), "must be greater than or equal to `port`", end, f"at least {port}")
        elif isinstance(port, str):
            if end is not None:
                self.add(path + ("endPort",), "may not be specified when `port` is non-numeric", end)
            why = is_port_name(port)
            if why:
                self.add(path + ("port",), f"invalid port name: {why}", port, "a number 1-65535 or a port name")
        else:
            self.add(path + ("port",), "must be a port number or a port name", port)
        if len(self.problems) > before:
            return None
        return netpol.PolicyPort(protocol, port, end)
