"""Runtimes: how a plan becomes real (netns: namespaces; kind: KIND clusters in Docker).

Each runtime is a package of its own that implements `base.Runtime`; nothing outside a
runtime's package imports its modules, except `provider` below its `runtime.py`. A third
runtime is a third package here, named in `NAMES` and `provider`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import KindscapeError

if TYPE_CHECKING:
    from .base import Runtime

NAMES = ("netns", "kind")


def provider(name: str) -> "Runtime":
    """The runtime of that name. Its modules are imported here, when first asked for."""
    if name == "netns":
        from .netns.runtime import NetnsRuntime
        return NetnsRuntime()
    if name == "kind":
        from .kind.runtime import KindRuntime
        return KindRuntime()
    raise KindscapeError(f"unknown runtime {name!r}: use one of {', '.join(NAMES)}")
