"""kindscape measured the way mininet_run.py measures Mininet: inside one Python process
whose modules are already imported, so interpreter start-up and imports count for
neither side. Prints one JSON line: up, check, down seconds and the probe count; the
probe rate of the reachable and of the unreachable expectations checked apart; and,
with --sampled, the time and coverage of `check` without expectations (one probe per
class of equivalent pairs).

    python inprocess.py SCENARIO.yaml [--sampled]
"""

from __future__ import annotations

import json
import sys

from timing import timed


def _rate(lab, expectations: list, result: dict, key: str) -> None:
    """Probes per second of a check of these expectations alone."""
    if not expectations:
        return
    with timed(result, f"{key}_check"):
        report = _check(lab, expectations)
    result[f"{key}_probes"] = len(report.results)
    result[f"{key}_ok"] = report.ok


def _check(lab, expectations: list):
    from kindscape.probe import checks
    return checks.check(lab.topology, lambda tasks: lab.runtime.probe(lab.state, tasks, 1.0),
                        expectations=expectations)


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
        expectations = list(lab.topology.expectations)
        _rate(lab, [e for e in expectations if e.reachable], result, "reachable")
        _rate(lab, [e for e in expectations if not e.reachable], result, "unreachable")
        if "--sampled" in argv:
            with timed(result, "sampled_check"):
                sampled = _check(lab, [])
            result.update(sampled_probes=sampled.probes, sampled_pairs=sampled.pairs,
                          sampled_reached_pairs=sum(r.represents for r in sampled.results if r.reachable))
    finally:
        with timed(result, "down"):
            lab.down()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
