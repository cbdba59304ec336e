"""A TEST STAND-IN for `kind create cluster` and for the Kubernetes parts the kind runtime
talks to. This machine has no kind binary and no node image; everything on the Docker
side is real (dockerd, networks, containers, `docker exec`, namespaces, routes, iptables).
It must never be kinder than what it replaces: where KIND, Docker, the kubelet, the API
server or kindnet would make `up` fail, the stand-in fails the same way.

What the stand-in replaces, and only that:
- `kind create/delete cluster`: KIND-shaped node containers: KIND's names
  (<cluster>-control-plane, -worker, -worker2), labels (io.x-k8s.kind.cluster,
  io.x-k8s.kind.role), tmpfs /tmp and /run, /lib/modules read-only, node sysctls (strict
  rp_filter, route_localnet), `networking.dnsSearch` in the node's resolv.conf as KIND's
  entrypoint writes it, on the `kind` network, which it creates when missing exactly as
  KIND does (masquerade, the MTU of Docker's default bridge, `--ipv6 --subnet <ULA
  derived from the name>`, and no IPv4 subnet: Docker's IPAM picks it, so Docker refuses
  a fixed IPv4 address there, as it does under real KIND). Docker's routes in the nodes
  stay as Docker sets them (a connected network can take the default route).
- systemd and the kubelet (`systemctl`, in the image): `systemctl restart kubelet` makes
  the kubelet read its flags again; the node's InternalIP is what the running kubelet
  read (--node-ip), never the flags file as it is now.
- the API server (`StandInKube`, standin_api.py): kubectl's answers, for the argv the
  runtime passes. After its static pod manifest changes, the kubelet restarts it: for a
  moment the old one still answers, then it refuses connections for a while (kubectl's
  "connection refused"), then it advertises the new address.
- kindnet: on each node, HOST_IP fixed when its pod starts (the downward API); every
  reconcile (at most every standin_api.RECONCILE seconds, while the API answers) it routes
  every other node's podCIDR via that node's InternalIP in the node, for real; the node
  whose InternalIP holds HOST_IP is its own. After its node's address moved it takes its
  own node for a remote one and routes its own podCIDR via its own new address (the kernel
  accepts it: via lo) until its pod is deleted (the DaemonSet makes a new one). A route
  the kernel refuses (a gateway not on-link) crashes it until then too.
  KIND-MASQ-AGENT as kindnet makes it (RETURN for the podSubnet, MASQUERADE the rest).
- kube-controller-manager: podCIDRs in node order. kube-proxy and CoreDNS: no rules and
  no DNS (a ClusterIP, NodePort or LoadBalancer answers nothing here); their rollouts
  finish standin_api.SYSTEM_START seconds after the cluster is created.
- containerd + CNI ptp for probe pods: a namespace per pod (`ip netns add cni-<id>`
  inside the node), a veth, the pod's /32, routes as ptp makes them.
Not as KIND: `--privileged` cannot start a container in this sandbox (its capability
bounding set lacks CAP_SYS_RESOURCE), so nodes get the capabilities the steps need
(NET_ADMIN, SYS_ADMIN, NET_RAW, unconfined seccomp/AppArmor) and their sysctls at creation.
Scripts call /usr/sbin/ip (busybox's sh prefers its own applets).
"""

from __future__ import annotations

import ipaddress
import time

import yaml

from kindscape.runtimes.kind.ops import KIND_CLUSTER_LABEL, CreateCluster
from kindscape.scenario.families import kind_ula_subnet
from kindscape.scenario.naming import kind_node_names
from tests.docker.standin_api import StandInKube

ROLE_LABEL = "io.x-k8s.kind.role"
UNCONFINED = ["seccomp=unconfined", "apparmor=unconfined"]
SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "1",
           "net.ipv4.conf.default.rp_filter": "1", "net.ipv4.conf.all.route_localnet": "1"}
MTU_OPTION = "com.docker.network.driver.mtu"
APISERVER = """apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address={ip}
    - --secure-port=6443
"""
FLAGS = 'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip={ip} --pod-infra-container-image=registry.k8s.io/pause:3.10"\n'
CONTAINERD = '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n'
RUNNING_FLAGS = "/run/kubelet/running-flags.env"  # what the kubelet read when it (re)started


class Kindnet:
    """kindnet's state on one node: HOST_IP as its pod started with it, and its crash."""

    def __init__(self, host_ip: str):
        self.host_ip = host_ip
        self.error = ""
        self.restarts = 0


class StandInCluster:
    def __init__(self, name: str, pod_subnet: ipaddress.IPv4Network, nodes: list[str]):
        self.name = name
        self.pod_subnet = pod_subnet
        self.nodes = nodes
        self.control_plane = nodes[0]
        self.cidrs = {node: list(pod_subnet.subnets(new_prefix=24))[i] for i, node in enumerate(nodes)}
        self.pods: dict = {}  # name -> PodStatus
        self.objects: list[dict] = []  # everything else `kubectl apply` got (Services, ...)
        self.labels: dict[str, dict[str, str]] = {}  # each pod's labels
        self.pod_namespaces: dict[str, str] = {}
        self.kindnet: dict[str, Kindnet] = {}
        self.reconciled = 0.0
        self.created = time.monotonic()
        self.apiserver: dict = {}  # standin_api's view of the running API server
        self.calls: list[list[str]] = []  # every kubectl argv it answered


class StandInKind:
    """Replaces the kind binary (`KindCli`) and, through `kube(cluster)`, kubectl."""

    def __init__(self, client, image: str, kind_network: str):
        self.client = client
        self.image = image
        self.kind_network = kind_network
        self.clusters: dict[str, StandInCluster] = {}
        self.created: list[str] = []

    def require(self) -> None:
        """The stand-in is always there."""

    # kind create / delete cluster ------------------------------------------------
    def create(self, op: CreateCluster) -> None:
        config = yaml.safe_load(op.config)
        roles = [n.get("role", "control-plane") for n in config.get("nodes") or []] or ["control-plane"]
        networking = config.get("networking") or {}
        pod_subnet = ipaddress.ip_network(networking.get("podSubnet", "10.244.0.0/16"))
        names = kind_node_names(op.cluster, tuple(roles))
        self.ensure_network()
        for name, role in zip(names, roles):
            self.client.containers.run(
                self.image, ["tail", "-f", "/dev/null"], name=name, hostname=name, detach=True,
                cap_add=["NET_ADMIN", "SYS_ADMIN", "NET_RAW"], security_opt=UNCONFINED, sysctls=SYSCTLS,
                labels={KIND_CLUSTER_LABEL: op.cluster, ROLE_LABEL: role},
                tmpfs={"/tmp": "", "/run": ""}, volumes={"/lib/modules": {"bind": "/lib/modules", "mode": "ro"}},
                network=self.kind_network)
            self.created.append(name)
        cluster = StandInCluster(op.cluster, pod_subnet, names)
        self.clusters[op.cluster] = cluster
        for name, role in zip(names, roles):
            self._node_files(name, role, networking.get("dnsSearch"))
        for name in names:
            cluster.kindnet[name] = Kindnet(self.internal_ips(name)[0])
        self._masquerade(cluster)
        self.reconcile(cluster)

    def ensure_network(self) -> None:
        """KIND's ensureNetwork: an existing network is used as it is; else made as KIND
        makes it (no IPv4 subnet: Docker's IPAM picks one)."""
        if self.network() is not None:
            return
        bridge = self.client.networks.get("bridge").attrs.get("Options") or {}
        options = {"com.docker.network.bridge.enable_ip_masquerade": "true"}
        if int(bridge.get(MTU_OPTION) or 0) > 0:
            options[MTU_OPTION] = bridge[MTU_OPTION]
        import docker
        ula = str(kind_ula_subnet(self.kind_network))
        self.client.networks.create(self.kind_network, driver="bridge", options=options, enable_ipv6=True,
                                    ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=ula)]))

    def network(self):
        found = [n for n in self.client.networks.list(names=[self.kind_network]) if n.name == self.kind_network]
        return found[0] if found else None

    def ip(self, node: str) -> str:
        """The node's address on `kind`, as Docker gave it."""
        container = self.client.containers.get(node)
        return container.attrs["NetworkSettings"]["Networks"][self.kind_network]["IPAddress"]

    def sh(self, node: str, script: str) -> str:
        code, out = self.client.containers.get(node).exec_run(["sh", "-c", script])
        assert code == 0, f"{node}: {script}: {out.decode()}"
        return out.decode()

    def try_sh(self, node: str, script: str) -> tuple[int, str]:
        code, out = self.client.containers.get(node).exec_run(["sh", "-c", script])
        return code, out.decode()

    def _node_files(self, node: str, role: str, dns_search: list[str] | None) -> None:
        ip = self.ip(node)
        files = {"/var/lib/kubelet/kubeadm-flags.env": FLAGS.format(ip=ip), "/etc/containerd/config.toml": CONTAINERD}
        if role == "control-plane":
            files["/etc/kubernetes/manifests/kube-apiserver.yaml"] = APISERVER.format(ip=ip)
        script = "".join(f"cat > {path} <<'EOF'\n{text}EOF\n" for path, text in files.items())
        if dns_search is not None:  # KIND's entrypoint: KIND_DNS_SEARCH replaces the search line
            search = f"search {' '.join(dns_search)}\n" if dns_search else ""
            script += (f"{{ printf '{search}'; grep -v '^search' /etc/resolv.conf; }} > /tmp/resolv && "
                       "cat /tmp/resolv > /etc/resolv.conf\n")
        script += "systemctl start kubelet\n"
        self.sh(node, script)

    # the kubelet ------------------------------------------------------------------
    def internal_ips(self, node: str) -> list[str]:
        """The InternalIP the node reports: the --node-ip its running kubelet read."""
        for _ in range(3):  # one empty read was seen here (cause unknown): read again, then say what was read
            flags = self.sh(node, f"cat {RUNNING_FLAGS}")
            if "--node-ip=" in flags:
                return flags.split("--node-ip=")[1].split()[0].strip('"').split(",")
            time.sleep(0.2)
        raise AssertionError(f"{node}: no --node-ip in the running kubelet's flags: {flags!r}")

    # kindnet ----------------------------------------------------------------------
    def _masquerade(self, cluster: StandInCluster) -> None:
        for node in cluster.nodes:
            self.sh(node, "iptables -t nat -N KIND-MASQ-AGENT\n"
                    f"iptables -t nat -A KIND-MASQ-AGENT -d {cluster.pod_subnet} -j RETURN\n"
                    "iptables -t nat -A KIND-MASQ-AGENT -j MASQUERADE\n"
                    "iptables -t nat -A POSTROUTING -m addrtype ! --dst-type LOCAL -j KIND-MASQ-AGENT\n")

    def reconcile(self, cluster: StandInCluster) -> None:
        """kindnet's loop on every node: its own node by HOST_IP, routes to the others."""
        cluster.reconciled = time.monotonic()
        addresses = {node: self.internal_ips(node) for node in cluster.nodes}
        for node, agent in cluster.kindnet.items():
            if agent.error:
                continue  # crashed: nothing more until its pod is deleted
            routes = "".join(f"/usr/sbin/ip route replace {cluster.cidrs[other]} via {ips[0]}\n"
                             for other, ips in addresses.items() if agent.host_ip not in ips)
            code, out = self.try_sh(node, "set -e\n" + routes)
            if code != 0:
                agent.error = f"Maximum retries reconciling node routes: {out.strip()}"

    def restart_kindnet(self, cluster: StandInCluster, node: str) -> None:
        """Its pod deleted: the DaemonSet's new pod starts with today's status.hostIP."""
        agent = cluster.kindnet[node]
        agent.host_ip, agent.error = self.internal_ips(node)[0], ""
        agent.restarts += 1

    def delete(self, cluster: str) -> None:
        for container in self.client.containers.list(all=True, filters={"label": f"{KIND_CLUSTER_LABEL}={cluster}"}):
            container.remove(force=True)
        self.clusters.pop(cluster, None)

    def remove_network(self) -> None:
        """`kind` as KIND leaves it: only a test removes it (when nothing uses it any more)."""
        for network in self.client.networks.list(names=[self.kind_network]):
            network.reload()
            if network.name == self.kind_network and not network.attrs.get("Containers"):
                network.remove()

    def kube(self, cluster: str) -> StandInKube:
        return StandInKube(self, self.clusters[cluster])
