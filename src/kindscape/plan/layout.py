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
    for field in dataclasses.fields(op):
        value = getattr(op, field.name)
        if isinstance(value, tuple):
            value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]
        elif dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        data[field.name] = value
    return data
