"""Docker, through the Docker SDK for Python: networks, host containers, `docker exec`,
discovery by label. Every error is a KindscapeError that names what was asked."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Any

from ...errors import KindscapeError, RuntimeFailure
from .ops import KIND_CLUSTER_LABEL, SCENARIO_LABEL, Connect, CreateNetwork, RunHost

MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"


def _sdk():
    try:
        import docker
    except ImportError:
        raise KindscapeError("the kind runtime needs the Docker SDK for Python: "
                             "pip install 'kindscape[kind]' (or pip install docker)") from None
    return docker


class DockerSide:
    def __init__(self, client: Any):
        self.client = client
        self.errors = _sdk().errors

    @classmethod
    def connect(cls) -> "DockerSide":
        """A client that has answered a ping; a clear error when Docker is not there."""
        docker = _sdk()
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        try:
            client = docker.from_env(timeout=30)
            client.ping()
        except docker.errors.DockerException as exc:
            raise KindscapeError(f"cannot reach the Docker daemon at {where} ({_short(exc)}): "
                                 "start dockerd (or set DOCKER_HOST) and try again") from None
        return cls(client)

    # Networks ---------------------------------------------------------------------
    def network(self, name: str):
        """The network of exactly this name (Docker matches names by prefix), or None."""
        found = [n for n in self.client.networks.list(names=[name]) if n.name == name]
        return found[0] if found else None

    @staticmethod
    def subnets(network) -> list[str]:
        return [c.get("Subnet") for c in (network.attrs.get("IPAM") or {}).get("Config") or []
                if c.get("Subnet")]

    @staticmethod
    def gateways(network) -> list[str]:
        return [c.get("Gateway") for c in (network.attrs.get("IPAM") or {}).get("Config") or []
                if c.get("Gateway")]

    def create_network(self, op: CreateNetwork) -> None:
        docker = _sdk()
        pools = [docker.types.IPAMPool(subnet=op.subnet, gateway=op.gateway)]
        if op.ipv6_subnet:
            pools.append(docker.types.IPAMPool(subnet=op.ipv6_subnet))
        try:
            self.client.networks.create(
                op.name, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=pools),
                enable_ipv6=bool(op.ipv6_subnet), labels=dict(op.labels),
                options={MASQUERADE_OPTION: str(op.masquerade).lower()}, check_duplicate=True)
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"{op.shell()}: {_short(exc)}") from None

    def remove_network(self, name: str) -> bool:
        network = self.network(name)
        if network is None:
            return False
        try:
            network.remove()
        except self.errors.NotFound:
            return False
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"docker network rm {name}: {_short(exc)}") from None
        return True

    def attached(self, name: str) -> list[str]:
        network = self.network(name)
        if network is None:
            return []
        network.reload()
        return sorted(c.get("Name", "") for c in (network.attrs.get("Containers") or {}).values())

    def connect_network(self, op: Connect) -> None:
        key = "ipv6_address" if ":" in op.ip else "ipv4_address"
        try:
            self.client.networks.get(op.network).connect(op.container, **({key: op.ip} if op.ip else {}))
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"{op.shell()}: {_short(exc)}") from None

    def labelled_networks(self, scenario: str) -> list[str]:
        return sorted(n.name for n in self.client.networks.list(filters={"label": f"{SCENARIO_LABEL}={scenario}"}))

    # Containers -------------------------------------------------------------------
    def run_host(self, op: RunHost) -> None:
        docker = _sdk()
        key = "ipv6_address" if ":" in op.ip else "ipv4_address"
        endpoint = self.client.api.create_endpoint_config(**({key: op.ip} if op.ip else {}))
        try:
            self.client.containers.run(
                op.image, ["tail", "-f", "/dev/null"], name=op.container, hostname=op.host,
                detach=True, cap_add=["NET_ADMIN"], labels=dict(op.labels), network=op.network,
                networking_config={op.network: endpoint})
        except docker.errors.ImageNotFound:
            raise RuntimeFailure(f"{op.shell()}: image {op.image} not found (pull it, or set "
                                 "KINDSCAPE_HOST_IMAGE to an image you have)") from None
        except docker.errors.APIError as exc:
            raise RuntimeFailure(f"{op.shell()}: {_short(exc)}") from None

    def container(self, name: str):
        try:
            return self.client.containers.get(name)
        except self.errors.NotFound:
            return None

    def by_label(self, label: str, value: str | None = None) -> list[str]:
        wanted = label if value is None else f"{label}={value}"
        return sorted(c.name for c in self.client.containers.list(all=True, filters={"label": wanted}))

    def kind_nodes(self, cluster: str) -> list[str]:
        """A KIND cluster's node containers, by KIND's own label (as `kind get nodes`)."""
        return self.by_label(KIND_CLUSTER_LABEL, cluster)

    def remove_container(self, name: str) -> bool:
        found = self.container(name)
        if found is None:
            return False
        try:
            found.remove(force=True, v=True)
        except self.errors.NotFound:
            return False
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"docker rm -f {name}: {_short(exc)}") from None
        return True

    def address(self, container: str, network: str, family: int = 4) -> str:
        found = self._get(container)
        settings = (found.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        entry = settings.get(network)
        key = "IPAddress" if family == 4 else "GlobalIPv6Address"
        if not entry or not entry.get(key):
            raise RuntimeFailure(f"container {container} has no IPv{family} address on network {network}")
        return entry[key]

    def pid(self, container: str) -> int:
        found = self._get(container)
        pid = (found.attrs.get("State") or {}).get("Pid") or 0
        if not pid:
            raise RuntimeFailure(f"container {container} is not running")
        return int(pid)

    def exec(self, container: str, argv: Sequence[str]) -> subprocess.CompletedProcess:
        """`docker exec CONTAINER ARGV...`, output captured as text."""
        found = self._get(container)
        try:
            code, (out, err) = found.exec_run(list(argv), demux=True)
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"docker exec {container} {' '.join(argv)}: {_short(exc)}") from None
        return subprocess.CompletedProcess(["docker", "exec", container, *argv], code,
                                           (out or b"").decode(errors="replace"),
                                           (err or b"").decode(errors="replace"))

    def _get(self, name: str):
        found = self.container(name)
        if found is None:
            raise RuntimeFailure(f"no container named {name}")
        return found

    # Ownership records ------------------------------------------------------------
    def record_volume(self, name: str, labels: dict[str, str]) -> None:
        """A tiny labelled volume: the scenario's ownership record inside Docker itself, so
        `down` finds its clusters even without the state file."""
        try:
            self.client.volumes.create(name=name, labels=labels)
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"docker volume create {name}: {_short(exc)}") from None

    def labelled_volumes(self, scenario: str) -> list[tuple[str, dict[str, str]]]:
        found = self.client.volumes.list(filters={"label": f"{SCENARIO_LABEL}={scenario}"})
        return [(v.name, dict(v.attrs.get("Labels") or {})) for v in found]

    def remove_volume(self, name: str) -> bool:
        try:
            self.client.volumes.get(name).remove(force=True)
        except self.errors.NotFound:
            return False
        return True


def _short(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip()
