"""How a scenario marks what it creates: its namespaces' name prefix and the ownership
mark (an altname on each namespace's `lo`, a line in each file). `down` needs these and
nothing of the topology's types, so they live apart from topology.py."""

from __future__ import annotations

import os

# Namespaces are named <prefix>.<scenario>.<endpoint>. KINDSCAPE_NETNS_PREFIX (with
# KINDSCAPE_STATE_DIR) lets two independent users of one machine, e.g. two CI jobs, run
# scenarios of the same name side by side.
NETNS_PREFIX = os.environ.get("KINDSCAPE_NETNS_PREFIX", "ks") + "."


def netns_prefix(scenario: str) -> str:
    return f"{NETNS_PREFIX}{scenario}."


def ownership_mark(scenario: str) -> str:
    """The altname put on `lo` of every namespace a scenario creates (its ownership mark)."""
    return f"kindscape.{scenario}"
