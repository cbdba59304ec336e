"""Golden plans name namespaces with the default prefix `ks.`, whatever
KINDSCAPE_NETNS_PREFIX says in the shell that runs the tests (developers sharing a
machine set it; the plans must not depend on it)."""

from __future__ import annotations

import pytest

from kindscape import marks


@pytest.fixture(autouse=True)
def default_netns_prefix(monkeypatch):
    monkeypatch.setattr(marks, "NETNS_PREFIX", "ks.")
