"""Which Docker daemon: the one the `docker` CLI talks to, since `kind` runs the CLI.

The CLI's order: DOCKER_HOST; else the context named by DOCKER_CONTEXT; else the
`currentContext` of its config.json ($DOCKER_CONFIG, default ~/.docker); else the local
socket. Docker Desktop, rootless Docker and colima select their daemon through a
context, so the Docker SDK's default (DOCKER_HOST or /var/run/docker.sock) could be
another daemon than kind's.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from ...errors import KindscapeError

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    host: str
    source: str  # how it was chosen, for messages: "DOCKER_HOST", "docker context NAME", "default"
    tls: Any = None  # the context's TLS material (docker.tls.TLSConfig) when it has some

    def __str__(self) -> str:
        return self.host if self.source == "default" else f"{self.source} ({self.host})"


def _config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _current_context() -> str:
    if os.environ.get("DOCKER_CONTEXT"):
        return os.environ["DOCKER_CONTEXT"]
    try:
        with open(os.path.join(_config_dir(), "config.json"), encoding="utf-8") as handle:
            return json.load(handle).get("currentContext") or "default"
    except (OSError, ValueError):
        return "default"


def current() -> Endpoint:
    """The endpoint the docker CLI would use now."""
    if os.environ.get("DOCKER_HOST"):
        return Endpoint(os.environ["DOCKER_HOST"], "DOCKER_HOST")
    name = _current_context()
    if name == "default":
        return Endpoint(DEFAULT_HOST, "default")
    store = os.path.join(_config_dir(), "contexts")
    digest = hashlib.sha256(name.encode()).hexdigest()
    try:
        with open(os.path.join(store, "meta", digest, "meta.json"), encoding="utf-8") as handle:
            docker = (json.load(handle).get("Endpoints") or {}).get("docker") or {}
    except (OSError, ValueError):
        raise KindscapeError(f"docker context {name} (the docker CLI's current context, which kind "
                             f"uses) is not in {store}: `docker context ls` lists them") from None
    if not docker.get("Host"):
        raise KindscapeError(f"docker context {name} names no Docker endpoint")
    return Endpoint(docker["Host"], f"docker context {name}",
                    _tls(os.path.join(store, "tls", digest, "docker"), docker.get("SkipTLSVerify", False)))


def _tls(directory: str, skip_verify: bool):
    files = {name: os.path.join(directory, f"{name}.pem") for name in ("ca", "cert", "key")}
    if not any(os.path.exists(path) for path in files.values()):
        return None
    from docker.tls import TLSConfig
    cert = (files["cert"], files["key"]) if os.path.exists(files["cert"]) else None
    ca = files["ca"] if os.path.exists(files["ca"]) else None
    return TLSConfig(client_cert=cert, ca_cert=ca, verify=not skip_verify)


def client(sdk, endpoint: Endpoint, timeout: int):
    """A Docker SDK client for the endpoint (DOCKER_HOST with the SDK's own TLS variables)."""
    if endpoint.source == "DOCKER_HOST":
        return sdk.DockerClient(timeout=timeout, **sdk.utils.kwargs_from_env())
    return sdk.DockerClient(base_url=endpoint.host, tls=endpoint.tls or False, timeout=timeout)


def not_here(endpoint: str, info: dict) -> str:
    """Why the daemon's containers are not on this machine (the kind runtime enters their
    namespaces through /proc/<pid>), or "" when they are."""
    system = str(info.get("OperatingSystem") or "")
    if "Docker Desktop" in system:
        return (f"the Docker daemon at {endpoint} is Docker Desktop ({system}): its containers run in "
                "a VM, whose namespaces kindscape cannot enter; use Docker Engine on this machine")
    if endpoint.startswith(("tcp://", "ssh://", "http://", "https://")):
        return (f"the Docker daemon at {endpoint} is reached over the network: kindscape enters the "
                "containers' namespaces on this machine; use the local daemon (unset DOCKER_HOST, "
                "or `docker context use` a local one)")
    return ""
