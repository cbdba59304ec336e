"""kindscape: multi-cluster KIND network scenarios from one declarative file.

    import kindscape
    scenario = kindscape.load("multi-cluster.yaml")
    with kindscape.up(scenario) as lab:
        assert lab.check().ok

The names below are imported on first use, so `import kindscape` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
# `plan` is not exported: `kindscape.plan` is the package of plan operations (a function
# of that name would be shadowed by the subpackage once imported); use `kindscape.api.plan`.
__all__ = ["load", "loads", "up", "attach", "down", "down_all", "status", "graph", "Lab", "Scenario",
           "CheckReport", "ScenarioError", "KindscapeError"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import Lab, attach, down, down_all, graph, loads, status, up
    from .errors import KindscapeError, ScenarioError
    from .probe.checks import CheckReport
    from .scenario import Scenario, load


def __getattr__(name: str) -> Any:
    if name in ("ScenarioError", "KindscapeError"):
        from . import errors
        return getattr(errors, name)
    if name in ("load", "Scenario"):
        from . import scenario
        return getattr(scenario, name)
    if name == "CheckReport":
        from .probe.checks import CheckReport
        return CheckReport
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'kindscape' has no attribute {name!r}")
