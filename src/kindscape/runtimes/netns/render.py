"""The netns runtime's renderer: its plan as the equivalent `ip`/`nft`/`tc` commands
(what `kindscape plan` prints) and as JSON."""

from __future__ import annotations

from typing import Any

from ...plan import layout
from . import ops


def command(op: ops.Op) -> str:
    """The `ip`/`nft` command a user could run to do what `op` does."""
    match op:
        case ops.CreateNamespace(ns=ns, mark=mark):
            text = f"ip netns add {ns}\nip -n {ns} link set lo up"
            return text + (f"\nip -n {ns} link property add dev lo altname {mark}" if mark else "")
        case ops.Sysctl(ns=ns, key=key, value=value):
            return f"ip netns exec {ns} sysctl -qw {key}={value}"
        case ops.Bridge(ns=ns, name=name, alias=alias, mac=mac):
            text = f"ip -n {ns} link add {name}{_address(mac)} up type bridge"
            return text + (f"\nip -n {ns} link property add dev {name} altname {alias}" if alias else "")
        case ops.Veth():
            return _veth(op)
        case ops.LinkUp(ns=ns, name=name):
            return f"ip -n {ns} link set {name} up"
        case ops.Address(ns=ns, dev=dev, address=address):
            # IPv6 addresses skip duplicate address detection (netlink.py sets IFA_F_NODAD).
            return f"ip -n {ns} addr add {address} dev {dev}" + (" nodad" if ":" in address else "")
        case ops.NeighProxy(ns=ns, dev=dev, address=address):
            return (f"ip -6 -n {ns} neigh add proxy {address} dev {dev}\n"
                    f"ip netns exec {ns} sysctl -qw net.ipv6.neigh.{dev}.proxy_delay=0")
        case ops.Route():
            return _route(op)
        case ops.Neighbour(ns=ns, dev=dev, address=address, mac=mac):
            return f"ip -n {ns} neigh replace {address} lladdr {mac} dev {dev} nud permanent"
        case ops.Ruleset(ns=ns, text=text):
            return _nft(ns, text)
        case ops.WriteFile(path=path, content=content):
            return f"install -D -m 0644 /dev/stdin {path} <<'EOF'\n{content}EOF"
        case ops.StartWorkloads(listeners=listeners, dns=dns):
            ports = sorted({p for item in listeners for p in item.ports})
            text = (f"# start the workload server: echo listeners for {len(listeners)} endpoints "
                    f"on TCP {', '.join(map(str, ports))} (one process, one socket per namespace and port)")
            return "\n".join([text] + [_dns(server) for server in dns])
    return _link_fault(op)


def _nft(ns: str, text: str) -> str:
    return f"ip netns exec {ns} nft -f - <<'EOF'\n{text}EOF"


def _link_fault(op: ops.Op) -> str:
    """Impairments' and partitions' operations (their module loads only where there are some)."""
    from ...plan import link_faults
    match op:
        case link_faults.LinkRules(ns=ns, text=text):
            return _nft(ns, text)
        case link_faults.Shaping(ns=ns, commands=commands):
            return "\n".join(f"tc -n {ns} {line}" for line in commands)
    raise TypeError(f"no rendering for {op!r}")


def _address(mac: str) -> str:
    return f" address {mac}" if mac else ""


def _veth(op: ops.Veth) -> str:
    text = (f"ip -n {op.ns} link add {op.name}{_address(op.mac)} up type veth "
            f"peer name {op.peer_name}{_address(op.peer_mac)} netns {op.peer_ns}")
    if op.peer_master:
        text += f"\nip -n {op.peer_ns} link set {op.peer_name} master {op.peer_master} up"
    else:
        text += f"\nip -n {op.peer_ns} link set {op.peer_name} up"
    return text


def _dns(server: ops.DnsServer) -> str:
    lines = [f"# ... and the DNS server of {server.endpoint} on UDP/TCP 53 in {server.ns}, "
             f"authoritative for {server.zone}:"]
    lines += [f"#   {r.name}. IN {r.type} {r.data}" for r in server.records]
    return "\n".join(lines)


def _route(op: ops.Route) -> str:
    family = " -6" if op.family == 6 else ""
    text = f"ip{family} -n {op.ns} route add {op.to}"
    if op.via:
        text += f" via {op.via}"
    if op.dev:
        text += f" dev {op.dev}"
    if op.scope:
        text += f" scope {op.scope}"
    return text + (f"  # {op.comment}" if op.comment else "")


def script(plan: ops.Plan) -> str:
    """The whole plan as a readable script (what `kindscape plan` prints)."""
    return layout.script(plan, command)


def to_json(plan: ops.Plan) -> dict[str, Any]:
    return layout.to_json(plan)
