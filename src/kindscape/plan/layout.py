"""What every runtime's plan rendering shares: the script's layout (a header, one section
per phase, each operation as its runtime's renderer writes it) and the JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .ops import Plan


def script(plan: Plan, command: Callable[[Any], str]) -> str:
    """The whole plan as a readable script, one section per phase."""
    lines: list[str] = [f"# kindscape plan for scenario {plan.scenario!r}: {len(plan.ops)} operations"]
    phase = None
    for op in plan.ops:
        if op.phase != phase:
            phase = op.phase
            lines.append(f"\n# --- {phase.name.lower()} ---")
        lines.append(command(op))
    return "\n".join(lines) + "\n"


def to_json(plan: Plan) -> dict[str, Any]:
    return {"scenario": plan.scenario, "ops": [op_json(op) for op in plan.ops]}


def op_json(op: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"op": type(op).__name__}
    data.update({field.name: _plain(getattr(op, field.name)) for field in dataclasses.fields(op)})
    return data


def _plain(value: Any) -> Any:
    """A value as JSON holds it: dataclasses as objects, tuples as arrays, and what JSON has
    no type for (an address, a prefix) as its text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
