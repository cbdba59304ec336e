import pytest

from kindscape import topology


@pytest.fixture(autouse=True)
def default_netns_prefix(monkeypatch):
    """Golden plans name namespaces with the default prefix, whatever the environment says."""
    monkeypatch.setattr(topology, "NETNS_PREFIX", "ks.")
