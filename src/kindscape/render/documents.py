"""Documents for scripts: every -o json/yaml document uses camelCase keys (the contract's),
including the plan, whose operations are Python dataclasses with snake_case fields; the
conversion is done here, at the rendering boundary, so any operation type gets it."""

from __future__ import annotations

import re
from typing import Any

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def camel(key: str) -> str:
    """`peer_ns` -> `peerNs`; anything that is not a snake_case identifier (a name, an
    address, a DNS record's key) is left as it is."""
    if not _SNAKE.match(key):
        return key
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(data: Any) -> Any:
    """`data` with every mapping's snake_case keys in camelCase, at every depth."""
    if isinstance(data, dict):
        return {camel(key) if isinstance(key, str) else key: camel_keys(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [camel_keys(value) for value in data]
    return data
