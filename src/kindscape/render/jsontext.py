"""JSON documents as `json.dumps(data, indent=2)` writes them, faster.

With an indent the standard library encodes in Python, a generator per level: 0.38 s for
the 27,000 results of a check at 10,000 namespaces. This writes the same text (compared
on generated documents by tests/unit/test_jsontext.py) in 0.19 s: one call per value with
the C string encoder, and a list of flat objects (a check's results) in one call of the
C encoder, whose separators are then indented. What it does not know (a key that is not
a str, a value of another type) goes to the standard library."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string  # the C one where CPython has it
from typing import Any

_FLOAT_NAMES = {float("inf"): "Infinity", float("-inf"): "-Infinity"}
_SCALARS = frozenset({str, int, float, bool, type(None)})
# The C encoder (no indent) with NUL between members: it escapes every NUL of the data
# (\u0000), so in its output a NUL is a separator, and "}NUL{" the end of one object and
# the start of the next.
_MARKED = json.JSONEncoder(separators=("\x00", ": ")).encode


class _Unknown(Exception):
    """A value only the standard library's encoder knows what to do with."""


def dumps(data: Any) -> str:
    """The document `json.dumps(data, indent=2)` returns."""
    try:
        return _value(data, "\n")
    except (_Unknown, RecursionError):
        return json.dumps(data, indent=2)


def _value(value: Any, newline: str) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if value != value:
            return "NaN"
        return _FLOAT_NAMES.get(value) or float.__repr__(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        for key in value:
            if type(key) is not str:
                raise _Unknown
        return ("{" + inner + ("," + inner).join([_string(k) + ": " + _value(v, inner) for k, v in value.items()])
                + newline + "}")
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = newline + "  "
        if _records(value):
            return _records_text(value, newline, inner)
        return "[" + inner + ("," + inner).join([_value(v, inner) for v in value]) + newline + "]"
    raise _Unknown


def _records(items: list | tuple) -> bool:
    """Objects of scalars under str keys, none empty: a check's results."""
    scalars = _SCALARS
    for item in items:
        if type(item) is not dict or not item:
            return False
        for key, member in item.items():
            if type(key) is not str or type(member) not in scalars:
                return False
    return True


def _records_text(items: list | tuple, newline: str, inner: str) -> str:
    """A list of records in one call of the C encoder, its separators then indented."""
    member = inner + "  "
    body = _MARKED(items)[2:-2].replace("}\x00{", "\x01").replace("\x00", "," + member)
    return ("[" + inner + "{" + member + body.replace("\x01", inner + "}," + inner + "{" + member)
            + inner + "}" + newline + "]")
