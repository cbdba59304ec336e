"""The stand-in's API server: kubectl's answers (standin.py says what the stand-in
replaces). It plugs in below the product's `Kubectl` (its one kubectl process), so the
runtime's own argv, JSON parsing, waits and retries are what run here.

Its static pod: after /etc/kubernetes/manifests/kube-apiserver.yaml changes, the kubelet
restarts it: for LAG seconds the old one still answers (advertising its old address),
then connections are refused for DOWN seconds, then the new one advertises the
manifest's address (the `kubernetes` Service's EndpointSlice lists it).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from datetime import datetime

import yaml

from kindscape.errors import CommandFailed
from kindscape.runtimes.kind.kubectl import Kubectl, PodStatus

LAG, DOWN = 1, 6  # seconds (a real apiserver restart takes longer)
RECONCILE = 2.0  # seconds between two kindnet reconciles (real kindnet: 10)
SYSTEM_START = 2.0  # seconds from creation until kube-proxy's and CoreDNS's rollouts are done
VALUED = ("-n", "-o", "-l", "-f", "--field-selector", "--raw", "--for", "--timeout")  # options with a value
MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
REFUSED = "The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?\n"
TIMED_OUT = "error: timed out waiting for the condition\n"


def _done(argv: list[str], out: str = "", code: int = 0, err: str = "") -> subprocess.CompletedProcess:
    if code:
        raise CommandFailed(argv, code, err)
    return subprocess.CompletedProcess(argv, 0, out, "")


def _seconds(stat_time: str) -> float:
    """busybox `stat -c %y` (2026-12-04 16:50:48.813521773 +0000) as seconds since the epoch."""
    day, clock, zone = stat_time.split()
    whole, _, fraction = clock.partition(".")
    stamp = datetime.strptime(f"{day} {whole} {zone}", "%Y-%m-%d %H:%M:%S %z").timestamp()
    return stamp + float(f"0.{fraction or 0}")


def _option(args: list[str], name: str) -> str:
    for index, arg in enumerate(args):
        if arg == name:
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return ""


class StandInKube(Kubectl):
    """`Kubectl` for one stand-in cluster: its `_call` answers instead of a kubectl process."""

    def __init__(self, kind, cluster):
        super().__init__(cluster.name)
        self.kind = kind
        self.state = cluster

    def _call(self, argv: list[str], input: str | None, timeout: float) -> subprocess.CompletedProcess:
        args = argv[3:]  # after kubectl --context kind-<cluster>
        self.state.calls.append(args)
        if not self._apiserver_up():
            return _done(argv, code=1, err=REFUSED.format(port=6443))
        if time.monotonic() - self.state.reconciled >= RECONCILE:
            self.kind.reconcile(self.state)
        namespace = _option(args, "-n") or "default"
        if args[:2] == ["get", "--raw"]:
            return _done(argv, "ok")
        words = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in VALUED)]
        match words[:2]:
            case ["get", "nodes"]:
                return _done(argv, json.dumps({"items": self._nodes()}))
            case ["get", "endpointslices"]:
                return _done(argv, json.dumps({"items": [self._kubernetes_slice()]}))
            case ["get", "pods"]:
                return _done(argv, json.dumps({"items": self._pods(namespace)}))
            case ["get", "service"]:
                return _done(argv, json.dumps({"metadata": {"name": words[2]}, "status": {"loadBalancer": {}}}))
            case ["apply", _] | ["apply"]:
                self._apply(input or "")
                return _done(argv, "applied\n")
            case ["wait", _]:
                return _done(argv, "condition met\n")
            case ["delete", "pod"]:
                return self._delete_kindnet(argv, args)
            case ["rollout", "status"]:
                return self._rollout(argv, words[2])
        raise AssertionError(f"the stand-in has no answer for kubectl {' '.join(args)}")

    # the API server's static pod ---------------------------------------------------
    def _apiserver_up(self) -> bool:
        """Up, restarting (refused) or up with the new manifest, by the manifest's mtime."""
        out = self.kind.sh(self.state.control_plane, f"touch /tmp/.now; stat -c %y {MANIFEST} /tmp/.now; "
                           f"sed -n 's/.*--advertise-address=//p' {MANIFEST}").splitlines()
        mtime, now, address = _seconds(out[0]), _seconds(out[1]), out[2].strip()
        server = self.state.apiserver
        if not server:  # created with the cluster
            server.update(mtime=mtime, address=address, restart=None)
        if mtime != server["mtime"]:  # the kubelet saw a new manifest: it restarts the pod
            server.update(mtime=mtime, restart=(mtime + LAG, mtime + LAG + DOWN, address))
        if server["restart"]:
            start, end, new = server["restart"]
            if now >= end:
                server.update(address=new, restart=None)
            elif now >= start:
                return False
        return True

    def _kubernetes_slice(self) -> dict:
        return {"metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"kubernetes.io/service-name": "kubernetes"}},
                "endpoints": [{"addresses": [self.state.apiserver["address"]]}]}

    # nodes, pods, objects -----------------------------------------------------------
    def _nodes(self) -> list[dict]:
        return [{"metadata": {"name": node},
                 "spec": {"podCIDR": str(self.state.cidrs[node]), "podCIDRs": [str(self.state.cidrs[node])]},
                 "status": {"addresses": [{"type": "InternalIP", "address": ip}
                                          for ip in self.kind.internal_ips(node)]}}
                for node in self.state.nodes]

    def _pods(self, namespace: str) -> list[dict]:
        if namespace == "kube-system":
            return [{"metadata": {"name": f"kindnet-{node}", "labels": {"app": "kindnet"}},
                     "spec": {"nodeName": node},
                     "status": {"hostIP": agent.host_ip, "podIP": agent.host_ip,
                                "containerStatuses": [{"ready": not agent.error, "restartCount": agent.restarts}]}}
                    for node, agent in self.state.kindnet.items()]
        return [{"metadata": {"name": name, "namespace": namespace, "labels": self.state.labels.get(name, {})},
                 "spec": {"nodeName": status.node},
                 "status": {"podIP": status.ips[0], "podIPs": [{"ip": ip} for ip in status.ips]}}
                for name, status in self.state.pods.items()
                if self.state.pod_namespaces.get(name, "default") == namespace]

    def _apply(self, manifest: str) -> None:
        """Pods get a namespace and an address as kubelet + CNI would give them; every other
        object is only kept (no kube-proxy, no CoreDNS: nothing acts on them)."""
        for doc in yaml.safe_load_all(manifest):
            if doc and doc.get("kind") == "Pod":
                self._pod(doc["metadata"]["name"], doc["spec"]["nodeName"])
                self.state.pod_namespaces[doc["metadata"]["name"]] = doc["metadata"].get("namespace", "default")
                self.state.labels[doc["metadata"]["name"]] = dict(doc["metadata"].get("labels") or {})
            elif doc:
                self.state.objects.append(doc)

    def _pod(self, name: str, node: str) -> None:
        """What containerd + CNI ptp do for a pod: its namespace, a veth, a /32 each side."""
        cidr = self.state.cidrs[node]
        taken = sum(1 for p in self.state.pods.values() if p.node == node)
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
        self.state.pods[name] = PodStatus(node, (str(address),))

    # kindnet's DaemonSet, kube-proxy, CoreDNS ----------------------------------------
    def _delete_kindnet(self, argv: list[str], args: list[str]) -> subprocess.CompletedProcess:
        assert _option(args, "-l") == "app=kindnet", args
        node = _option(args, "--field-selector").removeprefix("spec.nodeName=")
        self.kind.restart_kindnet(self.state, node)
        return _done(argv, f'pod "kindnet-{node}" deleted\n')

    def _rollout(self, argv: list[str], what: str) -> subprocess.CompletedProcess:
        if what == "daemonset/kindnet":
            self.kind.reconcile(self.state)
            if any(agent.error for agent in self.state.kindnet.values()):
                return _done(argv, code=1, err=TIMED_OUT)  # a crashing pod never becomes available
        elif what in ("daemonset/kube-proxy", "deployment/coredns"):
            time.sleep(max(0.0, self.state.created + SYSTEM_START - time.monotonic()))  # rollout status waits
        else:
            raise AssertionError(f"the stand-in has no {what}")
        return _done(argv, f'{what} successfully rolled out\n')
