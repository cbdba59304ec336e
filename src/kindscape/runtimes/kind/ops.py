"""The kind runtime's plan: plain, frozen operations. Each renders itself (`shell()`) as
the `kind`, `docker`, `kubectl` or `ip` commands a user could run to do the same by hand,
so `kindscape plan FILE --runtime kind` is a script one can read or replay.

Some values exist only once the clusters do: a node's address on the `kind` network
(Docker's IPAM picks it) and its podCIDR (kube-controller-manager picks it). Operations
hold references to them (`ContainerIP`, `PodCIDR`, `SandboxImage`); `Discover` operations
look them up (in the script: shell variables), and the runtime resolves them the same way.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from enum import IntEnum

SCENARIO_LABEL = "io.kindscape.scenario"
ROLE_LABEL = "io.kindscape.role"
KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"  # KIND's own label on its node containers
MASQ_CHAIN = "KIND-MASQ-AGENT"  # kindnet's masquerade chain (nat table)
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
KUBELET_FLAGS = "/var/lib/kubelet/kubeadm-flags.env"
APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
# The label on every Kubernetes object kindscape makes (probe pods, Services, slices).
MANAGED_BY = "kindscape"
PROBE_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"


class Phase(IntEnum):
    NETWORKS = 1
    CLUSTERS = 2
    ATTACH = 3
    HOSTS = 4
    DISCOVER = 5
    NODES = 6
    NODE_ADDRESS = 7
    ROUTES = 8
    MASQUERADE = 9
    PODS = 10
    SERVICES = 11
    WORKLOADS = 12
    LINKS = 13


def shell_var(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", "_".join(parts)).upper()


# References: values looked up once the clusters exist ------------------------------
@dataclass(frozen=True)
class ContainerIP:
    """A container's address on a docker network (Docker's IPAM chose it)."""

    container: str
    network: str  # the docker network's name
    family: int = 4

    @property
    def var(self) -> str:
        return shell_var("IP" if self.family == 4 else "IP6", self.container, self.network)

    def lookup(self) -> str:
        key = "IPAddress" if self.family == 4 else "GlobalIPv6Address"
        template = f'{{{{(index .NetworkSettings.Networks "{self.network}").{key}}}}}'
        return f"docker inspect -f {shlex.quote(template)} {self.container}"


@dataclass(frozen=True)
class ContainerGateway:
    """A container's gateway on a docker network (Docker's: the network's first address,
    also where Docker's IPAM chose the subnet)."""

    container: str
    network: str
    family: int = 4

    @property
    def var(self) -> str:
        return shell_var("GW" if self.family == 4 else "GW6", self.container, self.network)

    def lookup(self) -> str:
        key = "Gateway" if self.family == 4 else "IPv6Gateway"
        template = f'{{{{(index .NetworkSettings.Networks "{self.network}").{key}}}}}'
        return f"docker inspect -f {shlex.quote(template)} {self.container}"


@dataclass(frozen=True)
class PodCIDR:
    """A node's podCIDR as kube-controller-manager allocated it (primary family first)."""

    cluster: str
    node: str
    index: int = 0  # position in the node's .spec.podCIDRs

    @property
    def var(self) -> str:
        return shell_var("PODCIDR" if self.index == 0 else f"PODCIDR{self.index}", self.node)

    def lookup(self) -> str:
        path = f"{{.spec.podCIDRs[{self.index}]}}"
        return f"kubectl --context kind-{self.cluster} get node {self.node} -o jsonpath={shlex.quote(path)}"


@dataclass(frozen=True)
class SandboxImage:
    """The pause image a KIND node already holds (containerd's sandbox image): probe pods
    run it, so they need no registry."""

    node: str

    @property
    def var(self) -> str:
        return shell_var("SANDBOX_IMAGE", self.node)

    def lookup(self) -> str:
        return f"docker exec {self.node} {shlex.join(self.argv())}"

    def argv(self) -> list[str]:
        # containerd 1.x: sandbox_image = "..."; 2.x: sandbox = "..."
        return ["sed", "-n", "-E", r's/^[[:space:]]*sandbox(_image)?[[:space:]]*=[[:space:]]*"(.*)"/\2/p',
                CONTAINERD_CONFIG]


@dataclass(frozen=True)
class PodIP:
    """A probe pod's address (the CNI picked it), primary family first: what the
    EndpointSlices of a Service in another namespace than the pods' list."""

    cluster: str
    namespace: str
    pod: str  # the Kubernetes pod's name
    index: int = 0  # position in the pod's .status.podIPs

    @property
    def var(self) -> str:
        return shell_var("POD_IP" if self.index == 0 else f"POD_IP{self.index}", self.pod)

    def lookup(self) -> str:
        path = f"{{.status.podIPs[{self.index}].ip}}"
        return (f"kubectl --context kind-{self.cluster} -n {self.namespace} get pod {self.pod} "
                f"-o jsonpath={shlex.quote(path)}")


@dataclass(frozen=True)
class HostVeth:
    """The Docker host's end of a container's interface (Docker names it vethXXXX): the
    link whose index the interface names as its peer (`@ifN` inside the container)."""

    container: str
    ifname: str

    @property
    def var(self) -> str:
        return shell_var("VETH", self.container, self.ifname)

    def lookup(self) -> str:
        inside = (f"nsenter --net=/proc/$(docker inspect -f '{{{{.State.Pid}}}}' {self.container})/ns/net "
                  f"ip -o link show dev {self.ifname}")
        return (f"ip -o link | awk -F': ' -v i=\"$({inside} | sed -E 's/.*@if([0-9]+).*/\\1/')\" "
                "'$1 == i {sub(/@.*/, \"\", $2); print $2}'")


Ref = ContainerIP | ContainerGateway | PodCIDR | SandboxImage | PodIP | HostVeth
Value = str | ContainerIP | ContainerGateway | PodCIDR | SandboxImage | PodIP | HostVeth


@dataclass(frozen=True)
class AddressRef:
    """An address or prefix in an impairment's match that only Docker or Kubernetes can
    know (`ref`), with its family (which match it belongs to)."""

    ref: ContainerIP | PodCIDR
    version: int


def shown(value: Value) -> str:
    """A value as it appears in the script: literal (quoted when needed) or its variable."""
    if isinstance(value, str):
        return shlex.quote(value)
    return f'"${value.var}"'


def _comment(text: str) -> str:
    return f"  # {text}" if text else ""


# Operations ------------------------------------------------------------------------
BRIDGE_MTU = "com.docker.network.driver.mtu"  # KIND copies it from Docker's default bridge


@dataclass(frozen=True)
class CreateNetwork:
    """A docker bridge network, made as KIND makes `kind` (masquerade, IPv6 ULA; for `kind`
    itself also the MTU of Docker's default bridge)."""

    name: str  # the docker network's name
    network: str  # the scenario's name for it
    subnet: str
    gateway: str
    ipv6_subnet: str = ""
    masquerade: bool = True
    labels: tuple[tuple[str, str], ...] = ()
    reuse: bool = False  # KIND's `kind`: an existing one is used as it is; made with the bridge's MTU
    phase = Phase.NETWORKS

    def argv(self, mtu: int = 0) -> list[str]:
        args = ["docker", "network", "create", "-d", "bridge", "--subnet", self.subnet,
                "--gateway", self.gateway]
        if self.ipv6_subnet:
            args += ["--ipv6", "--subnet", self.ipv6_subnet]
        args += ["-o", f"com.docker.network.bridge.enable_ip_masquerade={str(self.masquerade).lower()}"]
        if mtu > 0:
            args += ["-o", f"{BRIDGE_MTU}={mtu}"]
        for key, value in self.labels:
            args += ["--label", f"{key}={value}"]
        return args + [self.name]

    def shell(self) -> str:
        if not self.reuse:
            return shlex.join(self.argv())
        # KIND's ensureNetwork: the MTU of Docker's default bridge, when it has one.
        mtu = f"docker network inspect bridge -f '{{{{index .Options \"{BRIDGE_MTU}\"}}}}'"
        text = f'{shlex.join(self.argv()[:-1])} ${{MTU:+-o {BRIDGE_MTU}="$MTU"}} {shlex.quote(self.name)}'
        return (f"docker network inspect {self.name} >/dev/null 2>&1 || {{ MTU=$({mtu}); {text}; }}")


@dataclass(frozen=True)
class CreateCluster:
    """`kind create cluster` with the cluster's own KIND config (plus kindscape's patches)."""

    cluster: str
    config: str  # YAML
    phase = Phase.CLUSTERS

    def argv(self) -> list[str]:
        return ["kind", "create", "cluster", "--name", self.cluster, "--config", "-"]

    def shell(self) -> str:
        return f"{shlex.join(self.argv())} <<'EOF'\n{self.config}EOF"


@dataclass(frozen=True)
class Connect:
    """`docker network connect`: after `kind create` for nodes (KIND fails on a node that
    has a second network at creation), at creation for hosts."""

    network: str
    container: str
    ips: tuple[str, ...] = ()  # the addresses asked for (none: Docker picks them)
    phase: Phase = Phase.ATTACH
    comment: str = ""

    def shell(self) -> str:
        return shlex.join(["docker", "network", "connect", *_ip_options(self.ips), self.network,
                           self.container]) + _comment(self.comment)


def _ip_options(ips: tuple[str, ...]) -> list[str]:
    return [item for ip in ips for item in ("--ip" if ":" not in ip else "--ip6", ip)]


def picked_by_docker(ips: tuple[str, ...], network: str) -> str:
    """The comment for addresses a file gave that Docker is not asked for (see planner)."""
    return (f"Docker picks the IPv4 address on {network} ({', '.join(ips)} not requested: KIND makes "
            "it with no IPv4 subnet of its own, where Docker refuses a fixed IPv4 address)") if ips else ""


@dataclass(frozen=True)
class RunHost:
    """A plain container standing for an external VM: NET_ADMIN for its routes."""

    host: str
    container: str
    image: str
    network: str  # the docker network of its primary interface
    ips: tuple[str, ...] = ()  # the addresses asked for (none: Docker picks them)
    labels: tuple[tuple[str, str], ...] = ()
    comment: str = ""
    phase = Phase.HOSTS

    def shell(self) -> str:
        args = ["docker", "run", "-d", "--name", self.container, "--hostname", self.host,
                "--cap-add", "NET_ADMIN", "--network", self.network, *_ip_options(self.ips)]
        for key, value in self.labels:
            args += ["--label", f"{key}={value}"]
        return shlex.join(args + [self.image, "tail", "-f", "/dev/null"]) + _comment(self.comment)


@dataclass(frozen=True)
class Discover:
    """Look up a value that exists only now (the page: "obtain pod subnet assigned to the
    node, obtain ip address in the docker network")."""

    ref: Ref
    phase: Phase = Phase.DISCOVER  # a probe pod's address: once the pods exist

    def shell(self) -> str:
        return f"{self.ref.var}=$({self.ref.lookup()})"


@dataclass(frozen=True)
class Exec:
    """A command inside a node or host container (`docker exec`)."""

    container: str
    argv: tuple[Value, ...]
    comment: str = ""
    tolerate: str = ""  # an error message that means "already done" (counts as success)
    phase: Phase = Phase.NODES

    def shell(self) -> str:
        text = " ".join(["docker", "exec", shlex.quote(self.container), *map(shown, self.argv)])
        if self.tolerate:
            text += " || true"
        return text + _comment(self.comment)


@dataclass(frozen=True)
class HostRoute:
    """A route on the Docker host itself (dockerHost.routesTo / serviceRoutesTo)."""

    to: Value
    via: Value
    family: int = 4
    comment: str = ""
    phase = Phase.ROUTES

    def shell(self) -> str:
        family = "-6 " if self.family == 6 else ""
        return f"ip {family}route replace {shown(self.to)} via {shown(self.via)}{_comment(self.comment)}"


@dataclass(frozen=True)
class ProbePod:
    """One probe pod, pinned to its node: the endpoint `<node>/pod<N>`."""

    name: str  # the Kubernetes pod's name
    endpoint: str
    node: str
    labels: tuple[tuple[str, str], ...] = ()  # a workload's, and the Services' that select it (services.py)
    ports: tuple[tuple[int, str, str], ...] = ()  # a workload's (port, protocol, name): named ports


@dataclass(frozen=True)
class ProbePods:
    """A cluster's probe pods (kubectl apply), each pinned to its node and tolerating
    every taint (control-plane nodes have pods too); kindscape listens inside them."""

    cluster: str
    namespace: str
    image: Value
    pods: tuple[ProbePod, ...]
    phase = Phase.PODS

    def manifest(self, image: str) -> str:
        from .manifests import probe_pods
        return probe_pods(self, image)

    def shell(self) -> str:
        context = f"kind-{self.cluster}"
        image = self.image if isinstance(self.image, str) else f"${{{self.image.var}}}"
        return (f"kubectl --context {context} apply -f - <<EOF\n{self.manifest(image)}EOF\n"
                f"kubectl --context {context} -n {self.namespace} wait --for=condition=Ready "
                f"pod -l {PROBE_SELECTOR} --timeout=300s")


@dataclass(frozen=True)
class Listener:
    endpoint: str
    ports: tuple[int, ...]  # TCP
    udp_ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class StartWorkloads:
    """One kindscape process on the Docker host serves every pod, node and host: a
    listening socket made inside each one's network namespace."""

    listeners: tuple[Listener, ...] = field(default_factory=tuple)
    phase = Phase.WORKLOADS

    def shell(self) -> str:
        ports = sorted({p for item in self.listeners for p in item.ports})
        udp = sorted({p for item in self.listeners for p in item.udp_ports})
        return (f"# start the workload server: echo listeners for {len(self.listeners)} endpoints "
                f"on TCP {', '.join(map(str, ports))}" + (f" and UDP {', '.join(map(str, udp))}" if udp else "")
                + ", each inside its container's or pod's network namespace (one process on the Docker host)")
