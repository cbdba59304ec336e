"""The kind runtime's renderer: its plan as the equivalent kind, docker and kubectl
commands (each operation writes its own, `shell()`) and as JSON."""

from __future__ import annotations

from typing import Any

from ...plan import layout
from ...plan.layout import Plan


def command(op: Any) -> str:
    return op.shell()


def script(plan: Plan) -> str:
    return layout.script(plan, command)


def to_json(plan: Plan) -> dict[str, Any]:
    return layout.to_json(plan)
