"""A plan, and what every runtime's rendering of it shares: the script's layout (a
header, one section per phase, each operation as its runtime's renderer writes it) and
the JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

OpT = TypeVar("OpT")


@dataclass(frozen=True)
class Plan(Generic[OpT]):
    """A runtime's operations in the order `up` applies them; each runtime has its own
    operation types (runtimes/netns/ops.py, runtimes/kind/ops.py) and its own renderer."""

    scenario: str
    ops: tuple[OpT, ...]
    # The operations' positions by their exact type, made on the first `of`: appliers ask
    # for a dozen kinds, and a plan of 10,000 namespaces has hundreds of thousands of ops.
    _positions: dict = field(default_factory=dict, compare=False, repr=False)

    def of(self, kind: type) -> list:
        if not self._positions:
            for position, op in enumerate(self.ops):
                self._positions.setdefault(type(op), []).append(position)
        lists = [found for each, found in self._positions.items() if issubclass(each, kind)]
        positions = lists[0] if len(lists) == 1 else sorted(p for found in lists for p in found)
        return [self.ops[p] for p in positions]


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
