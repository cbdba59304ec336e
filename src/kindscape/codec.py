"""Frozen dataclasses (the topology) to JSON and back, so commands on a running scenario
read its state without re-validating the file (and without importing pydantic)."""

from __future__ import annotations

import dataclasses
import ipaddress
import types
import typing
from functools import cache
from typing import Any

from .topology import LOCATIONS, location_from_json

_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network)


def encode(value: Any) -> Any:
    if isinstance(value, LOCATIONS):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, _IP_TYPES):
        return str(value)
    return value


def decode(kind: Any, data: Any) -> Any:
    """Rebuild a value of type `kind` (a dataclass, tuple[...], union, ...) from JSON data."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{name: decode(hints[name], value) for name, value in data.items() if name in hints})
    if origin is tuple:
        args = typing.get_args(kind)
        item = args[0] if args else Any
        return tuple(decode(item, v) for v in data)
    if origin is list:
        return [decode(typing.get_args(kind)[0], v) for v in data]
    if origin is dict:
        return {k: decode(typing.get_args(kind)[1], v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        return _decode_union(typing.get_args(kind), data)
    if kind in _IP_TYPES:
        return kind(data)
    return data


def _decode_union(options: tuple, data: Any) -> Any:
    kind = _union_kind(options)
    if kind == "location":
        return location_from_json(data)
    if isinstance(data, str):
        if kind == "address":
            return ipaddress.ip_address(data)
        if kind == "network":
            return ipaddress.ip_network(data)
    for option in options:
        if option is type(None):
            continue
        if dataclasses.is_dataclass(option) and isinstance(data, dict):
            return decode(option, data)
    return data


@cache
def _union_kind(options: tuple) -> str:
    """What a union holds, found once per union (a topology decodes thousands of them)."""
    if any(option in LOCATIONS for option in options):
        return "location"
    if any(o in (ipaddress.IPv4Address, ipaddress.IPv6Address) for o in options):
        return "address"
    if any(o in (ipaddress.IPv4Network, ipaddress.IPv6Network) for o in options):
        return "network"
    return ""


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)
