"""A TEST STAND-IN for `kind create cluster` and for the Kubernetes parts the kind runtime
asks about. This machine has no kind binary and no node image; everything on the Docker
side is real (dockerd, networks, containers, `docker exec`, namespaces, routes, iptables).

What the stand-in replaces, and only that:
- `kind create/delete cluster`: it runs KIND-shaped node containers itself: KIND's names
  (<cluster>-control-plane, -worker, -worker2), KIND's labels (io.x-k8s.kind.cluster,
  io.x-k8s.kind.role), tmpfs /tmp and /run, /lib/modules read-only, KIND's node sysctls
  (ip_forward, strict rp_filter, route_localnet), on the
  `kind` network (created as KIND creates it when missing), with the files the runtime
  edits: /etc/kubernetes/manifests/kube-apiserver.yaml (--advertise-address),
  /var/lib/kubelet/kubeadm-flags.env (--node-ip), /etc/containerd/config.toml.
- kindnet: each node's routes to the other nodes' podCIDRs, and the KIND-MASQ-AGENT
  chain (RETURN for the cluster's podSubnet, MASQUERADE the rest), with real iptables.
- kube-controller-manager and the kubelet's node status: podCIDRs in node order, the
  InternalIP read back from --node-ip in kubeadm-flags.env.
- the kubelet + containerd + CNI ptp for probe pods: a namespace per pod made with
  `ip netns add cni-<id>` inside the node, a veth, the pod's /32, routes as ptp makes them.
- systemd: `systemctl` only records its arguments (/var/log/systemctl.log).
- the API server for everything but pods: Services, Namespaces and EndpointSlices are
  only kept, as applied (there is no kube-proxy, no CoreDNS and no cloud provider: a
  ClusterIP, NodePort or LoadBalancer answers nothing here, and LoadBalancers get no
  address).
Not as KIND: `--privileged` cannot start a container in this sandbox (its capability
bounding set lacks CAP_SYS_RESOURCE), so nodes get the capabilities the steps need
(NET_ADMIN, SYS_ADMIN, NET_RAW, unconfined seccomp/AppArmor) and their sysctls at creation.
For safety here the nodes get no default route: a stray probe dies in the node instead
of leaving the machine. Scripts call /usr/sbin/ip (busybox's sh prefers its own applets).
"""

from __future__ import annotations

import ipaddress
import secrets

import yaml

from kindscape.runtimes.kind.kubectl import NodeStatus, PodStatus
from kindscape.runtimes.kind.ops import KIND_CLUSTER_LABEL, CreateCluster
from kindscape.scenario.naming import kind_node_names

ROLE_LABEL = "io.x-k8s.kind.role"
UNCONFINED = ["seccomp=unconfined", "apparmor=unconfined"]
SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "1",
           "net.ipv4.conf.default.rp_filter": "1", "net.ipv4.conf.all.route_localnet": "1"}
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


class StandInCluster:
    def __init__(self, name: str, pod_subnet: ipaddress.IPv4Network, nodes: list[str]):
        self.name = name
        self.pod_subnet = pod_subnet
        self.nodes = nodes
        self.cidrs = {node: list(pod_subnet.subnets(new_prefix=24))[i] for i, node in enumerate(nodes)}
        self.pods: dict[str, PodStatus] = {}
        self.objects: list[dict] = []  # everything else `kubectl apply` got (Services, ...)
        self.labels: dict[str, dict[str, str]] = {}  # each pod's labels


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
        pod_subnet = ipaddress.ip_network((config.get("networking") or {}).get("podSubnet", "10.244.0.0/16"))
        names = kind_node_names(op.cluster, tuple(roles))
        self._ensure_network()
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
            self._node_files(name, role)
        self._kindnet(cluster)

    def _ensure_network(self) -> None:
        if not [n for n in self.client.networks.list(names=[self.kind_network]) if n.name == self.kind_network]:
            self.client.networks.create(self.kind_network, driver="bridge",
                                        options={"com.docker.network.bridge.enable_ip_masquerade": "true"})

    def ip(self, node: str) -> str:
        container = self.client.containers.get(node)
        return container.attrs["NetworkSettings"]["Networks"][self.kind_network]["IPAddress"]

    def sh(self, node: str, script: str) -> str:
        code, out = self.client.containers.get(node).exec_run(["sh", "-c", script])
        assert code == 0, f"{node}: {script}: {out.decode()}"
        return out.decode()

    def _node_files(self, node: str, role: str) -> None:
        ip = self.ip(node)
        files = {"/var/lib/kubelet/kubeadm-flags.env": FLAGS.format(ip=ip), "/etc/containerd/config.toml": CONTAINERD}
        if role == "control-plane":
            files["/etc/kubernetes/manifests/kube-apiserver.yaml"] = APISERVER.format(ip=ip)
        script = "".join(f"cat > {path} <<'EOF'\n{text}EOF\n" for path, text in files.items())
        script += "/usr/sbin/ip route del default\n"  # see the module's docstring
        self.sh(node, script)

    def _kindnet(self, cluster: StandInCluster) -> None:
        for node in cluster.nodes:
            routes = "".join(f"/usr/sbin/ip route replace {cluster.cidrs[other]} via {self.ip(other)}\n"
                             for other in cluster.nodes if other != node)
            self.sh(node, routes + "iptables -t nat -N KIND-MASQ-AGENT\n"
                    f"iptables -t nat -A KIND-MASQ-AGENT -d {cluster.pod_subnet} -j RETURN\n"
                    "iptables -t nat -A KIND-MASQ-AGENT -j MASQUERADE\n"
                    "iptables -t nat -A POSTROUTING -m addrtype ! --dst-type LOCAL -j KIND-MASQ-AGENT\n")

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

    def kube(self, cluster: str) -> "StandInKube":
        return StandInKube(self, cluster)


class StandInKube:
    """Replaces `Kubectl` for one stand-in cluster."""

    def __init__(self, kind: StandInKind, cluster: str):
        self.kind = kind
        self.cluster = kind.clusters[cluster]

    def nodes_with_cidrs(self, names: list[str]) -> dict[str, NodeStatus]:
        found = {}
        for node in self.cluster.nodes:
            flags = self.kind.sh(node, "cat /var/lib/kubelet/kubeadm-flags.env")
            node_ip = flags.split("--node-ip=")[1].split()[0].strip('"')
            found[node] = NodeStatus((str(self.cluster.cidrs[node]),), tuple(node_ip.split(",")))
        return found

    def apply(self, manifest: str) -> None:
        """Pods get a namespace and an address as kubelet + CNI would give them; every other
        object is only kept (no API server, no kube-proxy, no CoreDNS: nothing acts on them)."""
        for doc in yaml.safe_load_all(manifest):
            if doc and doc.get("kind") == "Pod":
                self._pod(doc["metadata"]["name"], doc["spec"]["nodeName"])
                self.cluster.labels[doc["metadata"]["name"]] = dict(doc["metadata"].get("labels") or {})
            elif doc:
                self.cluster.objects.append(doc)

    def load_balancer_ips(self, namespace: str, name: str) -> tuple[str, ...]:
        """No cloud provider here (cloud-provider-kind's part): no LoadBalancer address."""
        return ()

    def _pod(self, name: str, node: str) -> None:
        """What containerd + CNI ptp do for a pod: its namespace, a veth, a /32 each side."""
        cidr = self.cluster.cidrs[node]
        taken = sum(1 for p in self.cluster.pods.values() if p.node == node)
        address, gateway = cidr[2 + taken], cidr[1]
        netns, veth = f"cni-{secrets.token_hex(4)}", f"veth{secrets.token_hex(4)}"
        self.kind.sh(node, f"""
/usr/sbin/ip netns add {netns}
/usr/sbin/ip link add {veth} type veth peer name eth0 netns {netns}
/usr/sbin/ip addr add {gateway}/32 dev {veth}
/usr/sbin/ip link set {veth} up
/usr/sbin/ip route add {address}/32 dev {veth} scope host
/usr/sbin/ip -n {netns} link set lo up
/usr/sbin/ip -n {netns} addr add {address}/32 dev eth0
/usr/sbin/ip -n {netns} link set eth0 up
/usr/sbin/ip -n {netns} route add {gateway}/32 dev eth0 scope link
/usr/sbin/ip -n {netns} route add default via {gateway} dev eth0
""")
        self.cluster.pods[name] = PodStatus(node, (str(address),))

    def wait_ready(self, namespace: str, selector: str, timeout: int = 300) -> None:
        """Stand-in pods are ready when made."""

    def pods(self, namespace: str, selector: str) -> dict[str, PodStatus]:
        return dict(self.cluster.pods)
