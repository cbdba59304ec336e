"""Docker-backed tests: real dockerd, KIND-shaped node containers from the stand-in
(`standin.py` says what it replaces), one local test image (`images.py`)."""

from __future__ import annotations

import os

import pytest

from tests.docker.images import build_image, remove_images

KIND_NETWORK = "kst-kind"  # KIND_EXPERIMENTAL_DOCKER_NETWORK: never the machine's own `kind`


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # no SDK, no daemon: say why
        pytest.skip(f"needs a running dockerd and the docker SDK ({exc})")
    if os.geteuid() != 0:
        pytest.skip("needs root: the kind runtime enters containers' network namespaces")
    return client


@pytest.fixture(scope="session")
def node_image(docker_client):
    tag = build_image(docker_client)
    yield tag
    remove_images(docker_client)


@pytest.fixture
def standin(docker_client, node_image, monkeypatch):
    """The kind runtime, wired to the stand-in instead of kind and kubectl, wherever a
    runtime is asked for by name (api, removal, faults: all through runtimes.provider)."""
    from kindscape import runtimes
    from kindscape.runtimes.kind.runtime import KindRuntime
    from tests.docker.standin import StandInKind

    monkeypatch.setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", KIND_NETWORK)
    monkeypatch.setenv("KINDSCAPE_HOST_IMAGE", node_image)
    monkeypatch.delenv("KINDSCAPE_PROBE_IMAGE", raising=False)
    kind = StandInKind(docker_client, node_image, KIND_NETWORK)
    original = runtimes.provider

    def provider(name: str):
        if name == "kind":
            return KindRuntime(kind=kind, kube=kind.kube)
        return original(name)
    monkeypatch.setattr(runtimes, "provider", provider)
    yield kind
    # Whatever a failed test left: the stand-in's nodes and the test network.
    for name in kind.created:
        try:
            docker_client.containers.get(name).remove(force=True)
        except Exception:
            pass
    kind.remove_network()
