"""The cluster's DNS, as CoreDNS's `kubernetes` plugin answers it in KIND, and the pods'
resolv.conf, as kubelet writes it for dnsPolicy ClusterFirst.

The records are decided here (pure, golden-tested) and served by the workload server
(`probe/dns.py`):
- `<svc>.<ns>.svc.cluster.local`: A/AAAA of the ClusterIPs; of the pods for a Headless
  Service (plus one name per pod address, `10-110-1-2.<svc>.<ns>.svc.cluster.local`);
  a CNAME for an ExternalName Service.
- SRV on the same name (CoreDNS answers SRV on a Service's own name with every port):
  `0 100 <port> <svc>...` for a ClusterIP, one per pod address at the port for Headless;
  kube-dns's named ports as `_dns._udp` and `_dns-tcp._tcp`.
- PTR for ClusterIPs and headless pod addresses; `ns.dns.cluster.local` (CoreDNS's NS).
Everything else is NXDOMAIN: the emulated CoreDNS has no upstream to forward to.
"""

from __future__ import annotations

from ..marks import ownership_mark
from ..topology import Cluster, IPAddr, Pod, Service
from . import linux_ops

ZONE = "cluster.local"
POD_NAMESPACE = "default"  # the emulated pods' Kubernetes namespace
RESOLV_DIR = "/etc/netns"  # `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf


def _address_type(address: IPAddr) -> str:
    return "A" if address.version == 4 else "AAAA"


def dashed(address: IPAddr) -> str:
    """A pod address as CoreDNS spells it in a name: 10-110-1-2, fd00-10-244--2."""
    return str(address).replace(".", "-").replace(":", "-")


def records(cluster: Cluster) -> tuple[linux_ops.DnsRecord, ...]:
    found: list[linux_ops.DnsRecord] = []
    dns_ips = cluster.dns_ips
    found += [linux_ops.DnsRecord(f"ns.dns.{ZONE}", _address_type(a), str(a)) for a in dns_ips]
    kube_dns = f"kube-dns.kube-system.svc.{ZONE}"
    found += _address_records(kube_dns, dns_ips)
    found += [linux_ops.DnsRecord(f"_dns._udp.{kube_dns}", "SRV", f"0 100 53 {kube_dns}."),
              linux_ops.DnsRecord(f"_dns-tcp._tcp.{kube_dns}", "SRV", f"0 100 53 {kube_dns}.")]
    pods = {pod.name: pod for pod in cluster.pods}
    for service in cluster.services:
        found += _service_records(service, [pods[name] for name in service.backends])
    return tuple(found)


def _address_records(name: str, addresses) -> list[linux_ops.DnsRecord]:
    found = [linux_ops.DnsRecord(name, _address_type(a), str(a)) for a in addresses]
    found += [linux_ops.DnsRecord(a.reverse_pointer, "PTR", f"{name}.") for a in addresses]
    return found


def _service_records(service: Service, backends: list[Pod]) -> list[linux_ops.DnsRecord]:
    fqdn = f"{service.name}.{service.namespace}.svc.{ZONE}"
    if service.type == "ExternalName":
        return [linux_ops.DnsRecord(fqdn, "CNAME", f"{service.external_name}.")]
    if service.type != "Headless":
        return _address_records(fqdn, service.cluster_ips) + \
            [linux_ops.DnsRecord(fqdn, "SRV", f"0 100 {service.port} {fqdn}.")]
    addresses = [a for pod in backends for a in pod.addresses]
    found = [linux_ops.DnsRecord(fqdn, _address_type(a), str(a)) for a in addresses]
    weight = max(1, 100 // max(1, len(addresses)))
    for address in addresses:
        host = f"{dashed(address)}.{fqdn}"
        found += _address_records(host, (address,))
        found.append(linux_ops.DnsRecord(fqdn, "SRV", f"0 {weight} {service.port} {host}."))
    return found


def server(cluster: Cluster) -> linux_ops.DnsServer | None:
    if cluster.dns_pod is None:
        return None
    return linux_ops.DnsServer(cluster.dns_pod.netns, cluster.dns_pod.name, ZONE, records(cluster))


def search_path(namespace: str = POD_NAMESPACE) -> tuple[str, ...]:
    return (f"{namespace}.svc.{ZONE}", f"svc.{ZONE}", ZONE)


def resolv_conf(cluster: Cluster, scenario: str, namespace: str = POD_NAMESPACE) -> str:
    """kubelet's resolv.conf for a ClusterFirst pod: the first family's kube-dns address
    (kubeadm's clusterDNS), KIND's search path, ndots:5. Its first line is the scenario's
    ownership mark: `down` without a state file removes only files that carry it."""
    return (f"# {ownership_mark(scenario)}: the cluster DNS of {cluster.name}, as kubelet writes it\n"
            f"search {' '.join(search_path(namespace))}\n"
            f"nameserver {cluster.dns_ips[0]}\n"
            "options ndots:5\n")


def resolv_conf_path(netns: str) -> str:
    return f"{RESOLV_DIR}/{netns}/resolv.conf"


def resolv_conf_files(cluster: Cluster, scenario: str) -> list[linux_ops.WriteFile]:
    if cluster.dns_pod is None or not cluster.dns_ips:
        return []
    return [linux_ops.WriteFile(resolv_conf_path(pod.netns), resolv_conf(cluster, scenario, pod.namespace))
            for pod in cluster.pods]
