"""Docker, through the Docker SDK for Python: networks, host containers, `docker exec`,
discovery by label. Every error is a KindscapeError that names what was asked."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...errors import KindscapeError, RuntimeFailure
from ...runner import logged
from . import dockerctx
from .ops import BRIDGE_MTU, KIND_CLUSTER_LABEL, SCENARIO_LABEL, Connect, CreateNetwork, RunHost

MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
# Docker's answers when it cannot make an IPv6 network here; KIND then makes `kind` IPv4-only.
IPV6_UNAVAILABLE = ("Cannot read IPv6 setup for bridge", "Unable to enable NAT rule:  (iptables failed: ip6tables",
                    "setting default policy to DROP in FORWARD chain failed:  (iptables failed: ip6tables")


def _sdk():
    try:
        import docker
    except ImportError:
        raise KindscapeError("the kind runtime needs the Docker SDK for Python: "
                             "pip install 'kindscape[kind]' (or pip install docker)") from None
    return docker


class DockerSide:
    def __init__(self, client: Any, endpoint: str = ""):
        self.client = client
        self.endpoint = endpoint  # the daemon's address (the docker CLI's, so kind's too)
        self.errors = _sdk().errors

    @classmethod
    def connect(cls) -> "DockerSide":
        """A client of the daemon kind uses (dockerctx.py) that has answered a ping; a clear
        error when that daemon is not there."""
        docker = _sdk()
        endpoint = dockerctx.current()
        try:
            with logged(f"docker ping ({endpoint})"):
                client = dockerctx.client(docker, endpoint, timeout=30)
                client.ping()
        except docker.errors.DockerException as exc:
            raise KindscapeError(f"cannot reach the Docker daemon at {endpoint} ({_short(exc)}): "
                                 "start dockerd (or choose the daemon with DOCKER_HOST or `docker context "
                                 "use`) and try again") from None
        return cls(client, endpoint.host)

    # Networks ---------------------------------------------------------------------
    def network(self, name: str):
        """The network of exactly this name (Docker matches names by prefix), or None."""
        with logged(f"docker network ls --filter name={name}"):
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

    def bridge_mtu(self) -> int:
        """The MTU of Docker's default bridge (0: none set), which KIND gives `kind`."""
        with logged("docker network inspect bridge"):
            found = self.network("bridge")
        try:
            return int(((found.attrs.get("Options") or {}) if found else {}).get(BRIDGE_MTU) or 0)
        except ValueError:
            return 0

    def create_network(self, op: CreateNetwork, ipv6_needed: bool = True) -> None:
        """As KIND's ensureNetwork for `kind` (op.reuse): the bridge's MTU, and without its
        IPv6 subnet when Docker cannot make IPv6 networks and no cluster needs one."""
        docker = _sdk()
        mtu = self.bridge_mtu() if op.reuse else 0
        pools = [docker.types.IPAMPool(subnet=op.subnet, gateway=op.gateway)]
        if op.ipv6_subnet:
            pools.append(docker.types.IPAMPool(subnet=op.ipv6_subnet))
        options = {MASQUERADE_OPTION: str(op.masquerade).lower(), **({BRIDGE_MTU: str(mtu)} if mtu > 0 else {})}
        try:
            with logged(shlex.join(op.argv(mtu))):
                self.client.networks.create(
                    op.name, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=pools),
                    enable_ipv6=bool(op.ipv6_subnet), labels=dict(op.labels), options=options, check_duplicate=True)
        except docker.errors.APIError as exc:
            if op.ipv6_subnet and not ipv6_needed and any(words in _short(exc) for words in IPV6_UNAVAILABLE):
                return self.create_network(replace(op, ipv6_subnet=""))
            raise RuntimeFailure(f"{op.shell()}: {_short(exc)}") from None

    def remove_network(self, name: str) -> bool:
        network = self.network(name)
        if network is None:
            return False
        try:
            with logged(f"docker network rm {name}"):
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
        with logged(f"docker network inspect {name}"):
            network.reload()
        return sorted(c.get("Name", "") for c in (network.attrs.get("Containers") or {}).values())

    def connect_network(self, op: Connect) -> None:
        try:
            with logged(op.shell()):
                self.client.networks.get(op.network).connect(op.container, **_addresses(op.ips))
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"{op.shell()}: {_short(exc)}") from None

    def labelled_networks(self, scenario: str) -> list[str]:
        label = f"{SCENARIO_LABEL}={scenario}"
        with logged(f"docker network ls --filter label={label}"):
            return sorted(n.name for n in self.client.networks.list(filters={"label": label}))

    # Containers -------------------------------------------------------------------
    def run_host(self, op: RunHost) -> None:
        docker = _sdk()
        endpoint = self.client.api.create_endpoint_config(**_addresses(op.ips))
        try:
            with logged(op.shell()):
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
            with logged(f"docker inspect {name}"):
                return self.client.containers.get(name)
        except self.errors.NotFound:
            return None

    def by_label(self, label: str, value: str | None = None) -> list[str]:
        wanted = label if value is None else f"{label}={value}"
        with logged(f"docker ps -a --filter label={wanted}"):
            return sorted(c.name for c in self.client.containers.list(all=True, filters={"label": wanted}))

    def kind_nodes(self, cluster: str) -> list[str]:
        """A KIND cluster's node containers, by KIND's own label (as `kind get nodes`)."""
        return self.by_label(KIND_CLUSTER_LABEL, cluster)

    def remove_container(self, name: str) -> bool:
        found = self.container(name)
        if found is None:
            return False
        try:
            with logged(f"docker rm -f -v {name}"):
                found.remove(force=True, v=True)
        except self.errors.NotFound:
            return False
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"docker rm -f {name}: {_short(exc)}") from None
        return True

    def address(self, container: str, network: str, family: int = 4) -> str:
        return self._network_setting(container, network, "IPAddress" if family == 4 else "GlobalIPv6Address",
                                     f"IPv{family} address")

    def gateway(self, container: str, network: str, family: int = 4) -> str:
        return self._network_setting(container, network, "Gateway" if family == 4 else "IPv6Gateway",
                                     f"IPv{family} gateway")

    def _network_setting(self, container: str, network: str, key: str, what: str) -> str:
        found = self._get(container)
        entry = ((found.attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(network)
        if not entry or not entry.get(key):
            raise RuntimeFailure(f"container {container} has no {what} on network {network}")
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
            with logged(shlex.join(["docker", "exec", container, *argv])):
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
            with logged(f"docker volume create {name}"):
                self.client.volumes.create(name=name, labels=labels)
        except self.errors.APIError as exc:
            raise RuntimeFailure(f"docker volume create {name}: {_short(exc)}") from None

    def labelled_volumes(self, scenario: str) -> list[tuple[str, dict[str, str]]]:
        with logged(f"docker volume ls --filter label={SCENARIO_LABEL}={scenario}"):
            found = self.client.volumes.list(filters={"label": f"{SCENARIO_LABEL}={scenario}"})
        return [(v.name, dict(v.attrs.get("Labels") or {})) for v in found]

    def remove_volume(self, name: str) -> bool:
        try:
            with logged(f"docker volume rm -f {name}"):
                self.client.volumes.get(name).remove(force=True)
        except self.errors.NotFound:
            return False
        return True


def _addresses(ips: tuple[str, ...]) -> dict[str, str]:
    """The SDK's endpoint settings for the addresses asked for, one per family."""
    return {("ipv6_address" if ":" in ip else "ipv4_address"): ip for ip in ips}


def _short(exc: Exception) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).strip()
