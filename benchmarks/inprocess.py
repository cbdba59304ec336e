"""kindscape measured the way mininet_run.py measures Mininet: inside one Python process
whose modules are already imported, so interpreter start-up and imports count for
neither side. Prints one JSON line: up, check, down seconds and the probe count.

    python inprocess.py SCENARIO.yaml
"""

from __future__ import annotations

import json
import sys

from timing import timed


def main(argv: list[str]) -> int:
    import kindscape
    from kindscape import api  # noqa: F401  (imported before the clock starts, as Mininet is)
    from kindscape import scenario  # noqa: F401  (pydantic, the schema)
    from kindscape.probe import checks  # noqa: F401
    from kindscape.runtimes.netns import apply, runtime  # noqa: F401

    result: dict = {}
    with timed(result, "up"):
        lab = kindscape.up(argv[0])  # load, validate, plan, apply: Mininet(topo) + start()
    try:
        with timed(result, "check"):
            report = lab.check()
        result["probes"] = len(report.results)
        result["reachable"] = sum(1 for r in report.results if r.reachable)
    finally:
        with timed(result, "down"):
            lab.down()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
