"""Small helpers the tests of running scenarios share."""

from __future__ import annotations

import subprocess

import kindscape


def pairs(report, source_prefix: str, target_prefix: str) -> list:
    """The results of a check report between endpoints whose names start so."""
    return [r for r in report.results
            if r.task.source.startswith(source_prefix) and r.task.target.startswith(target_prefix)]


def netns_of(lab, endpoint: str) -> str:
    """The namespace (or the kind runtime's container symbol) an endpoint runs in."""
    from kindscape.running import exec_target
    return exec_target(lab.topology, endpoint)


def cli_json(*args: str) -> subprocess.CompletedProcess:
    """`kindscape ARGS -o json`, captured as text."""
    return subprocess.run(["kindscape", *args, "-o", "json"], capture_output=True, text=True)
