"""Frozen dataclasses (the topology) to JSON and back, so commands on a running scenario
read its state without re-validating the file (and without importing pydantic)."""

from __future__ import annotations

import dataclasses
import ipaddress
import sys
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from .topology import LOCATIONS, location_from_json

_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network)


def encode(value: Any) -> Any:
    how = _encoding(type(value))
    if how is _SAME:
        return value
    if type(how) is tuple:  # a dataclass: its fields' names
        return {name: encode(getattr(value, name)) for name in how}
    if how is _SEQUENCE:
        return [encode(v) for v in value]
    if how is _MAPPING:
        return {k: encode(v) for k, v in value.items()}
    if how is _LOCATION:
        return value.to_json()
    return str(value)  # an address or a network


_SAME, _SEQUENCE, _MAPPING, _LOCATION, _TEXT = "same", "sequence", "mapping", "location", "text"


@cache
def _encoding(kind: type) -> Any:
    """How a value of this type is encoded, found once per type (a 10k topology encodes
    ~300,000 values): a dataclass as its fields' names, or one of the kinds above."""
    if issubclass(kind, LOCATIONS):
        return _LOCATION
    if dataclasses.is_dataclass(kind):
        return tuple(f.name for f in dataclasses.fields(kind))
    if issubclass(kind, (tuple, list)):
        return _SEQUENCE
    if issubclass(kind, dict):
        return _MAPPING
    if issubclass(kind, _IP_TYPES):
        return _TEXT
    return _SAME


def decode(kind: Any, data: Any) -> Any:
    """Rebuild a value of type `kind` (a dataclass, tuple[...], union, ...) from JSON data."""
    return _decoder(kind)(data)


Decoder = Callable[[Any], Any]


def _same(data: Any) -> Any:
    return data


@cache
def _decoder(kind: Any) -> Decoder:
    """The function that decodes a value of `kind`, made once per type: a topology of
    10,000 namespaces holds ~130,000 values, and asking each one's type what it is (origin,
    arguments, is it a dataclass) cost more than building it."""
    if dataclasses.is_dataclass(kind):
        return _dataclass_decoder(kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple:
        item = _decoder(args[0]) if args else _same
        return lambda data: None if data is None else tuple([item(v) for v in data])
    if origin is list:
        item = _decoder(args[0])
        return lambda data: None if data is None else [item(v) for v in data]
    if origin is dict:
        item = _decoder(args[1])
        return lambda data: None if data is None else {k: item(v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(args)
    if kind in _IP_TYPES:
        return lambda data: None if data is None else kind(data)
    return _same


def _union_decoder(options: tuple) -> Decoder:
    kind = _union_kind(options)
    if kind == "location":
        return lambda data: None if data is None else location_from_json(data)
    parse = {"address": _address, "network": ipaddress.ip_network}.get(kind)
    records = [option for option in options if dataclasses.is_dataclass(option)]

    def decode_union(data: Any) -> Any:
        if data is None:
            return None
        if parse is not None and isinstance(data, str):
            return parse(data)
        if records and isinstance(data, dict):
            return _decoder(records[0])(data)
        return data
    return decode_union


def _address(text: str) -> Any:
    """ipaddress.ip_address, without trying IPv4 on an IPv6 address first."""
    return ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)


@cache
def _union_kind(options: tuple) -> str:
    """What a union holds."""
    if any(option in LOCATIONS for option in options):
        return "location"
    if any(o in (ipaddress.IPv4Address, ipaddress.IPv6Address) for o in options):
        return "address"
    if any(o in (ipaddress.IPv4Network, ipaddress.IPv6Network) for o in options):
        return "network"
    return ""


def _dataclass_decoder(kind: type) -> Decoder:
    """An empty list or object for a field whose default is the same empty value is left to
    the default, without resolving the field's type (see _field_type); a field's decoder is
    made when a value of it is first met."""
    empty_defaults = _empty_defaults(kind)
    fields: dict[str, Decoder] = {}

    def decode_dataclass(data: Any) -> Any:
        if data is None:
            return None
        values = {}
        for name, value in data.items():
            if name not in empty_defaults:
                continue  # not a field
            if not value and isinstance(value, (list, dict)) and empty_defaults[name] is type(value):
                continue
            field = fields.get(name)
            if field is None:
                field = fields[name] = _decoder(_field_type(kind, name))
            values[name] = field(value)
        return kind(**values)
    return decode_dataclass


@cache
def _empty_defaults(kind: type) -> dict[str, type | None]:
    """Each field: the JSON type (list or dict) its default encodes to when that default is
    empty ((), [] or {}), None otherwise."""
    found: dict[str, type | None] = {}
    for each in dataclasses.fields(kind):
        default = each.default_factory() if each.default_factory is not dataclasses.MISSING else each.default
        empty = isinstance(default, (tuple, list, dict)) and not default
        found[each.name] = (dict if isinstance(default, dict) else list) if empty else None
    return found


@cache
def _field_type(kind: type, name: str) -> Any:
    """A field's type, resolved from its annotation when a value of it is first decoded.
    typing.get_type_hints resolves every field of a class at once: a topology's
    `policies` would load NetworkPolicy's model for a topology without policies. Names a
    module loads lazily (its __getattr__, see topology._NETPOL_NAMES) resolve too."""
    owner = next(c for c in kind.__mro__ if name in vars(c).get("__annotations__", {}))
    annotation = vars(owner)["__annotations__"][name]
    if not isinstance(annotation, str):
        return annotation
    module = sys.modules[owner.__module__]
    return eval(annotation, vars(module), _Attributes(module))  # as get_type_hints evaluates it


class _Attributes(dict):
    """eval's local names: a module's attributes, those its __getattr__ provides included."""

    def __init__(self, module: types.ModuleType) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, name: str) -> Any:
        try:
            return getattr(self.module, name)
        except AttributeError:
            raise KeyError(name) from None
