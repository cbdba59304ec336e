"""A small typed adapter over rtnetlink: pyroute2 encodes the messages, one plain netlink
socket per namespace carries them, many per send(2), acks read back in bulk.

pyroute2's high-level IPRoute makes a request/ack round trip per call and starts helper
processes for namespaces; batching through a socket opened inside each namespace is what
makes a thousand namespaces take seconds, not minutes.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl import (RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWLINKPROP,
                                   RTM_NEWNEIGH, RTM_NEWROUTE, RTM_SETNEIGHTBL)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import NTF_PROXY, NUD_PERMANENT, ndmsg
from pyroute2.netlink.rtnl.ndtmsg import ndtmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg
from pyroute2.netlink.rtnl import RTM_GETROUTE  # trace: route lookups

SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1
IFF_UP = 1
IFA_F_NODAD = 0x02
IFLA_PROP_LIST = 52
IFLA_ALT_IFNAME = 53
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RTN_UNICAST = 1
RTM_F_FIB_MATCH = 0x2000  # RTM_GETROUTE: answer the FIB entry that matched (`ip route get fibmatch`)
SCOPES = {"": 0, "universe": 0, "link": 253, "host": 254}
CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
MODIFY = NLM_F_REQUEST | NLM_F_ACK
CHUNK = 256  # messages per send(2): acks must fit the socket's receive buffer


@dataclass
class _Pending:
    data: bytes
    what: str


@dataclass
class Failure:
    """One refused request: what was asked, the errno, and the kernel's extended ack."""

    code: int
    what: str
    detail: str

    def __str__(self) -> str:
        text = f"{self.what}: {os.strerror(self.code)}"
        return text + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class RouteAnswer:
    """The kernel's answer to RTM_GETROUTE (`ip route get`): what it would do with a packet."""

    type: int  # RTN_*: 1 unicast, 2 local, 6 blackhole, 7 unreachable, 8 prohibit, ...
    table: int
    dst: str | None
    dst_len: int  # the matched prefix length when asked with fib_match
    gateway: str | None
    oif: int
    prefsrc: str | None


@dataclass
class NetlinkSocket:
    """rtnetlink in one namespace: the socket must be created inside it (see `open`)."""

    sock: socket.socket
    seq: int = 0
    pending: list[_Pending] = field(default_factory=list)

    @classmethod
    def open(cls) -> "NetlinkSocket":
        """Open in the calling thread's namespace; the socket stays bound to it."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((0, 0))
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    # Encoding -----------------------------------------------------------------
    def _queue(self, msg, kind: int, flags: int, what: str) -> None:
        self.seq += 1
        msg["header"]["type"] = kind
        msg["header"]["flags"] = flags
        msg["header"]["sequence_number"] = self.seq
        msg.encode()
        self.pending.append(_Pending(bytes(msg.data), what))

    def link_up(self, name: str, master: int = 0, what: str = "") -> None:
        msg = ifinfmsg()
        msg["flags"] = IFF_UP
        msg["change"] = IFF_UP
        msg["attrs"] = [("IFLA_IFNAME", name)] + ([("IFLA_MASTER", master)] if master else [])
        self._queue(msg, RTM_NEWLINK, MODIFY, what or f"link set {name} up")

    def bridge(self, name: str, index: int, what: str = "") -> None:
        msg = ifinfmsg()
        msg["index"] = index
        msg["flags"] = IFF_UP
        msg["change"] = IFF_UP
        msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]})]
        self._queue(msg, RTM_NEWLINK, CREATE, what or f"link add {name} type bridge")

    def veth(self, name: str, peer: str, peer_ns_fd: int, index: int, what: str = "") -> None:
        """A veth pair, this end up with the given ifindex; the peer is created directly in
        the other namespace (where the kernel picks its ifindex)."""
        msg = ifinfmsg()
        msg["index"] = index
        msg["flags"] = IFF_UP
        msg["change"] = IFF_UP
        peer_attrs = {"attrs": [("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", peer_ns_fd)]}
        info = {"attrs": [("IFLA_INFO_KIND", "veth"),
                          ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer_attrs)]})]}
        msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_LINKINFO", info)]
        self._queue(msg, RTM_NEWLINK, CREATE, what or f"link add {name} type veth peer name {peer}")

    def altname(self, name: str, alt: str, what: str = "") -> None:
        msg = ifinfmsg()
        msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_PROP_LIST", {"attrs": [("IFLA_ALT_IFNAME", alt)]})]
        self._queue(msg, RTM_NEWLINKPROP, CREATE, what or f"link property add dev {name} altname {alt}")

    def address(self, index: int, cidr: str, what: str = "") -> None:
        iface = ipaddress.ip_interface(cidr)
        msg = ifaddrmsg()
        msg["family"] = socket.AF_INET if iface.version == 4 else socket.AF_INET6
        msg["prefixlen"] = iface.network.prefixlen
        msg["index"] = index
        attrs = [("IFA_LOCAL", str(iface.ip)), ("IFA_ADDRESS", str(iface.ip))]
        if iface.version == 6:
            # No duplicate address detection: addresses are ours and must be usable at once.
            msg["flags"] = IFA_F_NODAD
            attrs = [("IFA_ADDRESS", str(iface.ip)), ("IFA_FLAGS", IFA_F_NODAD)]
        msg["attrs"] = attrs
        self._queue(msg, RTM_NEWADDR, CREATE, what or f"addr add {cidr}")

    def neigh_proxy(self, index: int, address: str, what: str = "") -> None:
        """Answer IPv6 neighbour solicitations for `address` on this link, without delay."""
        msg = ndmsg()
        msg["family"] = socket.AF_INET6
        msg["ifindex"] = index
        msg["state"] = NUD_PERMANENT
        msg["flags"] = NTF_PROXY
        msg["attrs"] = [("NDA_DST", address)]
        self._queue(msg, RTM_NEWNEIGH, CREATE, what or f"neigh add proxy {address}")
        # Proxied answers to multicast solicitations wait up to proxy_delay (0.8 s) by default.
        table = ndtmsg()
        table["family"] = socket.AF_INET6
        table["attrs"] = [("NDTA_NAME", "ndisc_cache"),
                          ("NDTA_PARMS", {"attrs": [("NDTPA_IFINDEX", index), ("NDTPA_PROXY_DELAY", 0)]})]
        self._queue(table, RTM_SETNEIGHTBL, MODIFY, what or "neighbour table: proxy_delay 0")

    def route(self, dst: str, gateway: str = "", oif: int = 0, scope: str = "", family: int = 4,
              what: str = "") -> None:
        msg = rtmsg()
        msg["family"] = socket.AF_INET if family == 4 else socket.AF_INET6
        msg["table"] = RT_TABLE_MAIN
        msg["proto"] = RTPROT_BOOT
        msg["type"] = RTN_UNICAST
        msg["scope"] = SCOPES[scope]
        attrs = [("RTA_TABLE", RT_TABLE_MAIN)]
        if dst != "default":
            net = ipaddress.ip_network(dst)
            msg["dst_len"] = net.prefixlen
            attrs.append(("RTA_DST", str(net.network_address)))
        if gateway:
            attrs.append(("RTA_GATEWAY", gateway))
        if oif:
            attrs.append(("RTA_OIF", oif))
        msg["attrs"] = attrs
        self._queue(msg, RTM_NEWROUTE, CREATE, what or f"route add {dst} via {gateway}")

    # Transport ----------------------------------------------------------------
    def flush(self) -> list[Failure]:
        """Send everything queued; returns the failures (empty when all succeeded)."""
        failures: list[Failure] = []
        pending, self.pending = self.pending, []
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start:start + CHUNK]
            first_seq = self.seq - len(pending) + start + 1
            self.sock.sendall(b"".join(p.data for p in chunk))
            failures += self._read_acks(chunk, first_seq)
        return failures

    def _read_acks(self, chunk: list[_Pending], first_seq: int) -> list[Failure]:
        failures = []
        remaining = len(chunk)
        while remaining:
            data = self.sock.recv(1 << 20)
            for kind, seq, payload in _messages(data):
                if kind != NLMSG_ERROR:
                    continue
                remaining -= 1
                code = struct.unpack_from("=i", payload, 0)[0]
                if code:
                    item = chunk[seq - first_seq] if 0 <= seq - first_seq < len(chunk) else None
                    failures.append(Failure(-code, item.what if item else f"request {seq}",
                                            _ext_ack_message(payload)))
        return failures

    def altnames(self, name: str) -> list[str]:
        """The alternative names of one link (where ownership marks live)."""
        self.seq += 1
        msg = ifinfmsg()
        msg["attrs"] = [("IFLA_IFNAME", name)]
        msg["header"]["type"] = RTM_GETLINK
        msg["header"]["flags"] = NLM_F_REQUEST
        msg["header"]["sequence_number"] = self.seq
        msg.encode()
        self.sock.sendall(bytes(msg.data))
        for kind, _seq, payload in _messages(self.sock.recv(1 << 16)):
            if kind == NLMSG_ERROR:
                return []
            for attr, value in _attrs(payload[16:]):
                if attr == IFLA_PROP_LIST:
                    return [v.rstrip(b"\0").decode(errors="replace")
                            for a, v in _attrs(value) if a == IFLA_ALT_IFNAME]
        return []

    def route_get(self, dst: str, src: str = "", iif: int = 0, oif: int = 0, mark: int = 0,
                  fib_match: bool = False) -> RouteAnswer:
        """Ask the kernel how it routes a packet (RTM_GETROUTE): from a local socket when
        `iif` is 0, else as if it arrived on interface `iif` (which runs the input checks,
        e.g. strict rp_filter). Raises OSError with the kernel's errno when it refuses."""
        address = ipaddress.ip_address(dst)
        msg = rtmsg()
        msg["family"] = socket.AF_INET if address.version == 4 else socket.AF_INET6
        msg["dst_len"] = address.max_prefixlen
        msg["flags"] = RTM_F_FIB_MATCH if fib_match else 0
        attrs = [("RTA_DST", str(address))]
        if src:
            msg["src_len"] = address.max_prefixlen
            attrs.append(("RTA_SRC", src))
        attrs += [(name, value) for name, value in (("RTA_IIF", iif), ("RTA_OIF", oif), ("RTA_MARK", mark))
                  if value]
        msg["attrs"] = attrs
        self.seq += 1
        msg["header"]["type"] = RTM_GETROUTE
        msg["header"]["flags"] = NLM_F_REQUEST
        msg["header"]["sequence_number"] = self.seq
        msg.encode()
        self.sock.sendall(bytes(msg.data))
        data = self.sock.recv(1 << 16)
        for kind, _seq, payload in _messages(data):
            if kind == NLMSG_ERROR:
                code = struct.unpack_from("=i", payload, 0)[0]
                raise OSError(-code, os.strerror(-code), _ext_ack_message(payload))
            if kind == RTM_NEWROUTE:
                return _route_answer(data)
        raise OSError(0, "no answer to RTM_GETROUTE")

    def link_indexes(self) -> dict[str, int]:
        """Dump the namespace's links: name -> ifindex."""
        self.seq += 1
        msg = ifinfmsg()
        msg["header"]["type"] = RTM_GETLINK
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_DUMP
        msg["header"]["sequence_number"] = self.seq
        msg.encode()
        self.sock.sendall(bytes(msg.data))
        found: dict[str, int] = {}
        while True:
            data = self.sock.recv(1 << 20)
            for kind, _seq, payload in _messages(data):
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from("=i", payload, 0)[0]
                    raise OSError(-code, "link dump failed")
                index = struct.unpack_from("=i", payload, 4)[0]
                name = _attr_string(payload[16:], 3)  # IFLA_IFNAME
                if name:
                    found[name] = index


def _route_answer(data: bytes) -> RouteAnswer:
    msg = rtmsg(data)
    msg.decode()
    return RouteAnswer(type=msg["type"], table=msg.get_attr("RTA_TABLE") or msg["table"],
                       dst=msg.get_attr("RTA_DST"), dst_len=msg["dst_len"],
                       gateway=msg.get_attr("RTA_GATEWAY"), oif=msg.get_attr("RTA_OIF") or 0,
                       prefsrc=msg.get_attr("RTA_PREFSRC"))


def _messages(data: bytes):
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            break
        yield kind, seq, data[offset + 16: offset + length]
        offset += (length + 3) & ~3


def _attrs(data: bytes):
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        yield kind & 0x3FFF, data[offset + 4: offset + length]
        offset += (length + 3) & ~3


def _attr_string(data: bytes, wanted: int) -> str:
    for kind, value in _attrs(data):
        if kind == wanted:
            return value.rstrip(b"\0").decode(errors="replace")
    return ""


def _ext_ack_message(payload: bytes) -> str:
    # With NETLINK_CAP_ACK the error carries only the original header (16 bytes) after
    # the 4-byte code; extended-ack attributes follow.
    return _attr_string(payload[4 + 16:], NLMSGERR_ATTR_MSG)
