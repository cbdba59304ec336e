"""A small typed adapter over rtnetlink: messages are packed by hand (the struct layouts
of linux/rtnetlink.h, linux/if_link.h, linux/neighbour.h), one plain netlink socket per
namespace carries them, many per send(2).

Why by hand: pyroute2's message classes cost ~60 us per route to encode and ~100 ms
to import; packing a route here costs ~2 us, so ten thousand routes take milliseconds
of Python. `tests/unit/test_netlink_encoding.py` checks every message against
pyroute2's encoder, which stays the reference.

Only the last message of each batch asks for an acknowledgement: the kernel handles a
batch synchronously inside send(2) and always answers a failed request with an error
message, so one ack per batch tells that everything before it was processed, and the
errors read back name what failed.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLA_F_NESTED = 0x8000
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
RTM_NEWNEIGH = 28
RTM_SETNEIGHTBL = 67
RTM_NEWLINKPROP = 108
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO = 1, 3, 10, 18
IFLA_OPERSTATE = 16
IFLA_NET_NS_FD = 28
IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES = 31, 32
IF_OPER_UP = 6
IFLA_PROP_LIST, IFLA_ALT_IFNAME = 52, 53
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
NDA_DST, NDA_LLADDR = 1, 2
NUD_PERMANENT = 0x80
NTF_PROXY = 0x08
NDTA_NAME, NDTA_PARMS = 1, 6
NDTPA_IFINDEX, NDTPA_PROXY_DELAY = 1, 13
IFF_UP = 1
IFA_F_NODAD = 0x02
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RTN_UNICAST = 1
SCOPES = {"": 0, "universe": 0, "link": 253, "host": 254}
CREATE = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
REPLACE = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE
MODIFY = NLM_F_REQUEST
CHUNK = 1024  # messages per send(2): their error answers must fit the receive buffer
RCVBUF = 4 << 20

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_NDMSG = struct.Struct("=BxxxiHBB")  # ndmsg: family, ifindex, state, flags, type
_NDTMSG = struct.Struct("=Bxxx")  # ndtmsg: family
_ATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_TABLE_MAIN = _ATTR.pack(8, RTA_TABLE) + _U32.pack(RT_TABLE_MAIN)

What = object  # a description, or a callable that returns one (rendered only on failure)


def attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def _string(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return attr(kind, _U32.pack(value))


def _nested(kind: int, *parts: bytes) -> bytes:
    return attr(kind, b"".join(parts))


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


@functools.lru_cache(maxsize=65536)
def _neighbour_attrs(address: str, mac: str) -> tuple[int, bytes]:
    """(family, NDA_DST + NDA_LLADDR); cached: every node of a network lists the same peers."""
    ip = ipaddress.ip_address(address)
    return _family(ip.version), attr(NDA_DST, ip.packed) + attr(NDA_LLADDR, mac_bytes(mac))


def _family(version: int) -> int:
    return socket.AF_INET if version == 4 else socket.AF_INET6


@functools.lru_cache(maxsize=65536)
def _route_body(dst: str, gateway: str, oif: int, scope: str, family: int) -> bytes:
    """An RTM_NEWROUTE body; cached, because the page's loop installs the same route
    (a remote podCIDR via its node) in every node of every other cluster."""
    dst_len, attrs = 0, _TABLE_MAIN
    if dst != "default":
        net = ipaddress.ip_network(dst)
        dst_len = net.prefixlen
        attrs += attr(RTA_DST, net.network_address.packed)
    if gateway:
        attrs += attr(RTA_GATEWAY, ipaddress.ip_address(gateway).packed)
    if oif:
        attrs += _u32(RTA_OIF, oif)
    return _RTMSG.pack(_family(family), dst_len, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                       SCOPES[scope], RTN_UNICAST, 0) + attrs


@dataclass
class Failure:
    """One refused request: what was asked, the errno, and the kernel's extended ack."""

    code: int
    what: str
    detail: str

    def __str__(self) -> str:
        text = f"{self.what}: {os.strerror(self.code)}"
        return text + (f" ({self.detail})" if self.detail else "")


def describe(what: What) -> str:
    return str(what()) if callable(what) else str(what)


@dataclass
class NetlinkSocket:
    """rtnetlink in one namespace: the socket must be created inside it (see `open`)."""

    sock: socket.socket
    seq: int = 0
    parts: list[tuple[int, int, int, bytes]] = field(default_factory=list)  # type, flags, seq, body
    whats: list[What] = field(default_factory=list)

    @classmethod
    def open(cls) -> "NetlinkSocket":
        """Open in the calling thread's namespace; the socket stays bound to it."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)  # SO_RCVBUFFORCE: root may exceed rmem_max
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((0, 0))
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    @property
    def pending(self) -> int:
        return len(self.parts)

    # Requests -------------------------------------------------------------------
    def _queue(self, kind: int, flags: int, body: bytes, what: What) -> None:
        self.seq += 1
        self.parts.append((kind, flags, self.seq, body))
        self.whats.append(what)

    def link_up(self, name: str, master: int = 0, what: What = "") -> None:
        attrs = _string(IFLA_IFNAME, name) + (_u32(IFLA_MASTER, master) if master else b"")
        self._queue(RTM_NEWLINK, MODIFY, _IFINFO.pack(0, 0, 0, IFF_UP, IFF_UP) + attrs,
                    what or f"link set {name} up")

    def bridge(self, name: str, index: int, what: What = "", mac: str = "") -> None:
        attrs = _string(IFLA_IFNAME, name) + (attr(IFLA_ADDRESS, mac_bytes(mac)) if mac else b"")
        attrs += _nested(IFLA_LINKINFO, _string(IFLA_INFO_KIND, "bridge"))
        self._queue(RTM_NEWLINK, CREATE, _IFINFO.pack(0, 0, index, IFF_UP, IFF_UP) + attrs,
                    what or f"link add {name} type bridge")

    def veth(self, name: str, peer: str, peer_ns_fd: int, index: int, what: What = "",
             peer_index: int = 0, mac: str = "", peer_mac: str = "", queues: int = 0) -> None:
        """A veth pair, this end up with the given ifindex; the peer is created directly in
        the other namespace (with `peer_index`, or one the kernel picks), and down: the
        kernel cannot open it before the pair is joined (ENOTCONN), so it needs `link_up`.
        `queues` (0: the kernel's default, one per CPU) sets each end's queue count."""
        sizing = _u32(IFLA_NUM_TX_QUEUES, queues) + _u32(IFLA_NUM_RX_QUEUES, queues) if queues else b""
        peer_attrs = _string(IFLA_IFNAME, peer) + (attr(IFLA_ADDRESS, mac_bytes(peer_mac)) if peer_mac else b"")
        peer_attrs += sizing + _u32(IFLA_NET_NS_FD, peer_ns_fd)
        peer_info = _IFINFO.pack(0, 0, peer_index, 0, 0) + peer_attrs
        info = _nested(IFLA_LINKINFO, _string(IFLA_INFO_KIND, "veth"),
                       _nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_info)))
        attrs = _string(IFLA_IFNAME, name) + (attr(IFLA_ADDRESS, mac_bytes(mac)) if mac else b"") + sizing + info
        self._queue(RTM_NEWLINK, CREATE, _IFINFO.pack(0, 0, index, IFF_UP, IFF_UP) + attrs,
                    what or f"link add {name} type veth peer name {peer}")

    def altname(self, name: str, alt: str, what: What = "") -> None:
        attrs = _string(IFLA_IFNAME, name) + attr(IFLA_PROP_LIST | NLA_F_NESTED, _string(IFLA_ALT_IFNAME, alt))
        self._queue(RTM_NEWLINKPROP, CREATE, _IFINFO.pack(0, 0, 0, 0, 0) + attrs,
                    what or f"link property add dev {name} altname {alt}")

    def address(self, index: int, cidr: str, what: What = "") -> None:
        iface = ipaddress.ip_interface(cidr)
        packed = iface.ip.packed
        if iface.version == 4:
            body = _IFADDR.pack(socket.AF_INET, iface.network.prefixlen, 0, 0, index)
            body += attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        else:
            # No duplicate address detection: addresses are ours and must be usable at once.
            body = _IFADDR.pack(socket.AF_INET6, iface.network.prefixlen, IFA_F_NODAD, 0, index)
            body += attr(IFA_ADDRESS, packed) + _u32(IFA_FLAGS, IFA_F_NODAD)
        self._queue(RTM_NEWADDR, CREATE, body, what or f"addr add {cidr}")

    def route(self, dst: str, gateway: str = "", oif: int = 0, scope: str = "", family: int = 4,
              what: What = "") -> None:
        self._queue(RTM_NEWROUTE, CREATE, _route_body(dst, gateway, oif, scope, family),
                    what or f"route add {dst} via {gateway}")

    def neighbour(self, index: int, address: str, mac: str, what: What = "") -> None:
        """A permanent neighbour entry (`ip neigh replace ... nud permanent`): it is never
        garbage-collected and does not count toward the shared gc_thresh limits."""
        family, attrs = _neighbour_attrs(address, mac)
        body = _NDMSG.pack(family, index, NUD_PERMANENT, 0, 0) + attrs
        self._queue(RTM_NEWNEIGH, REPLACE, body, what or f"neigh replace {address} lladdr {mac}")

    def neigh_proxy(self, index: int, address: str, what: What = "") -> None:
        """Answer IPv6 neighbour solicitations for `address` on this link, without delay."""
        body = _NDMSG.pack(socket.AF_INET6, index, NUD_PERMANENT, NTF_PROXY, 0)
        body += attr(NDA_DST, ipaddress.ip_address(address).packed)
        self._queue(RTM_NEWNEIGH, CREATE, body, what or f"neigh add proxy {address}")
        # Proxied answers to multicast solicitations wait up to proxy_delay (0.8 s) by default.
        parms = attr(NDTA_PARMS, _u32(NDTPA_IFINDEX, index) + attr(NDTPA_PROXY_DELAY, struct.pack("=Q", 0)))
        self._queue(RTM_SETNEIGHTBL, MODIFY, _NDTMSG.pack(socket.AF_INET6) + _string(NDTA_NAME, "ndisc_cache") + parms,
                    what or "neighbour table: proxy_delay 0")

    def sync_link(self, index: int, what: What = "") -> None:
        """Ask for one link (RTM_GETLINK): the kernel first applies its pending carrier
        change (linkwatch), which otherwise waits in a queue served 100-200 links at a
        time, and up to a second apart: until then the link's qdisc drops everything."""
        self._queue(RTM_GETLINK, NLM_F_REQUEST, _IFINFO.pack(0, 0, index, 0, 0),
                    what or f"ip link show index {index}")

    # Transport ------------------------------------------------------------------
    def flush(self, chunk_size: int = CHUNK) -> list[Failure]:
        """Send everything queued; returns the failures (empty when all succeeded).
        Answers other than errors (e.g. the links `sync_link` asks for) are read and
        dropped: `chunk_size` must keep them within the receive buffer."""
        failures: list[Failure] = []
        parts, whats = self.parts, self.whats
        self.parts, self.whats = [], []
        for start in range(0, len(parts), chunk_size):
            chunk = parts[start:start + chunk_size]
            last = len(chunk) - 1
            data = b"".join(_HEADER.pack(16 + len(body), kind, flags | (NLM_F_ACK if n == last else 0), seq, 0)
                            + body for n, (kind, flags, seq, body) in enumerate(chunk))
            self.sock.sendall(data)
            first_seq = chunk[0][2]
            errors = self._read_answers(chunk[last][2])
            failures += [Failure(code, describe(whats[start + seq - first_seq])
                                 if 0 <= seq - first_seq < len(chunk) else f"request {seq}", detail)
                         for seq, code, detail in errors]
        return failures

    def _read_answers(self, last_seq: int) -> list[tuple[int, int, str]]:
        """Error answers (sequence, errno, detail) up to the acknowledgement of `last_seq`."""
        errors = []
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # more refusals than the buffer holds
                    errors.append((last_seq, errno.ENOBUFS, "too many errors to list"))
                    continue
                raise
            for kind, seq, payload in _messages(data):
                if kind != NLMSG_ERROR:
                    continue
                code = -struct.unpack_from("=i", payload, 0)[0]
                if code:
                    errors.append((seq, code, _ext_ack_message(payload)))
                if seq == last_seq:
                    return errors

    def _request(self, kind: int, flags: int, body: bytes) -> None:
        self.seq += 1
        self.sock.sendall(_HEADER.pack(16 + len(body), kind, flags, self.seq, 0) + body)

    def altnames(self, name: str) -> list[str]:
        """The alternative names of one link (where ownership marks live)."""
        self._request(RTM_GETLINK, NLM_F_REQUEST, _IFINFO.pack(0, 0, 0, 0, 0) + _string(IFLA_IFNAME, name))
        for kind, _seq, payload in _messages(self.sock.recv(1 << 16)):
            if kind == NLMSG_ERROR:
                return []
            for code, value in _attrs(payload[16:]):
                if code == IFLA_PROP_LIST:
                    return [v.rstrip(b"\0").decode(errors="replace")
                            for a, v in _attrs(value) if a == IFLA_ALT_IFNAME]
        return []

    def link_indexes(self) -> dict[str, int]:
        """Dump the namespace's links: name -> ifindex."""
        return {name: link.index for name, link in self.links().items()}

    def links(self) -> dict[str, "Link"]:
        """Dump the namespace's links (as they are: a dump does not wait for linkwatch)."""
        self._request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, _IFINFO.pack(0, 0, 0, 0, 0))
        found: dict[str, Link] = {}
        while True:
            data = self.sock.recv(1 << 20)
            for kind, _seq, payload in _messages(data):
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from("=i", payload, 0)[0]
                    raise OSError(-code, "link dump failed")
                attrs = dict(_attrs(payload[16:]))
                if IFLA_IFNAME in attrs:
                    name = attrs[IFLA_IFNAME].rstrip(b"\0").decode(errors="replace")
                    operstate = attrs[IFLA_OPERSTATE][0] if IFLA_OPERSTATE in attrs else 0
                    found[name] = Link(struct.unpack_from("=i", payload, 4)[0], operstate)


@dataclass(frozen=True)
class Link:
    index: int
    operstate: int  # IF_OPER_UP (6) once the kernel has applied its carrier

    @property
    def up(self) -> bool:
        return self.operstate == IF_OPER_UP


def _messages(data: bytes):
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _flags, seq, _pid = _HEADER.unpack_from(data, offset)
        if length < 16:
            break
        yield kind, seq, data[offset + 16: offset + length]
        offset += (length + 3) & ~3


def _attrs(data: bytes):
    offset = 0
    while offset + 4 <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
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
