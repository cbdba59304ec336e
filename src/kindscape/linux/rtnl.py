"""The rtnetlink wire format, packed and parsed by hand: the constants and struct layouts
of linux/netlink.h, rtnetlink.h, if_link.h and neighbour.h, attribute helpers, and the
message bodies the runtime sends most (cached: the same route or neighbour is sent to
many namespaces). `netlink.py` carries them; tests/unit/test_netlink_encoding.py checks
them byte for byte against pyroute2's encoder.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
from dataclasses import dataclass


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
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
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
RTA_DST, RTA_SRC, RTA_IIF, RTA_OIF, RTA_GATEWAY, RTA_PREFSRC, RTA_TABLE, RTA_MARK = 1, 2, 3, 4, 5, 7, 15, 16
RTM_F_FIB_MATCH = 0x2000  # RTM_GETROUTE: answer the FIB entry that matched (`ip route get fibmatch`)
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

HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
NDMSG = struct.Struct("=BxxxiHBB")  # ndmsg: family, ifindex, state, flags, type
NDTMSG = struct.Struct("=Bxxx")  # ndtmsg: family
ATTR = struct.Struct("=HH")
U32 = struct.Struct("=I")
TABLE_MAIN = ATTR.pack(8, RTA_TABLE) + U32.pack(RT_TABLE_MAIN)


def attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def string_attr(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def u32_attr(kind: int, value: int) -> bytes:
    return attr(kind, U32.pack(value))


def nested(kind: int, *parts: bytes) -> bytes:
    return attr(kind, b"".join(parts))


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


@functools.lru_cache(maxsize=65536)
def neighbour_attrs(address: str, mac: str) -> tuple[int, bytes]:
    """(family, NDA_DST + NDA_LLADDR); cached: every node of a network lists the same peers."""
    ip = ipaddress.ip_address(address)
    return family_of(ip.version), attr(NDA_DST, ip.packed) + attr(NDA_LLADDR, mac_bytes(mac))


def family_of(version: int) -> int:
    return socket.AF_INET if version == 4 else socket.AF_INET6


@functools.lru_cache(maxsize=65536)
def route_body(dst: str, gateway: str, oif: int, scope: str, family: int) -> bytes:
    """An RTM_NEWROUTE body; cached, because the page's loop installs the same route
    (a remote podCIDR via its node) in every node of every other cluster."""
    dst_len, attrs = 0, TABLE_MAIN
    if dst != "default":
        net = ipaddress.ip_network(dst)
        dst_len = net.prefixlen
        attrs += attr(RTA_DST, net.network_address.packed)
    if gateway:
        attrs += attr(RTA_GATEWAY, ipaddress.ip_address(gateway).packed)
    if oif:
        attrs += u32_attr(RTA_OIF, oif)
    return RTMSG.pack(family_of(family), dst_len, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                       SCOPES[scope], RTN_UNICAST, 0) + attrs


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


def route_answer(payload: bytes) -> RouteAnswer:
    """Decode an RTM_NEWROUTE payload (rtmsg and attributes)."""
    dst_len, table, kind = payload[1], payload[4], payload[7]
    attrs = dict(parse_attrs(payload[RTMSG.size:]))

    def address(code: int) -> str | None:
        value = attrs.get(code)
        return str(ipaddress.ip_address(value)) if value else None
    return RouteAnswer(type=kind, table=U32.unpack(attrs[RTA_TABLE])[0] if RTA_TABLE in attrs else table,
                       dst=address(RTA_DST), dst_len=dst_len, gateway=address(RTA_GATEWAY),
                       oif=U32.unpack(attrs[RTA_OIF])[0] if RTA_OIF in attrs else 0,
                       prefsrc=address(RTA_PREFSRC))


def route_query(dst: str, src: str, iif: int, oif: int, mark: int, fib_match: bool) -> bytes:
    """An RTM_GETROUTE body: a host route to `dst`, from `src` / in on `iif` / out on `oif`."""
    address = ipaddress.ip_address(dst)
    bits = address.max_prefixlen
    body = RTMSG.pack(family_of(address.version), bits, bits if src else 0, 0, 0, 0, 0, 0,
                       RTM_F_FIB_MATCH if fib_match else 0)
    body += attr(RTA_DST, address.packed) + (attr(RTA_SRC, ipaddress.ip_address(src).packed) if src else b"")
    return body + b"".join(u32_attr(code, value) for code, value in ((RTA_IIF, iif), (RTA_OIF, oif), (RTA_MARK, mark))
                           if value)


@dataclass(frozen=True)
class Link:
    index: int
    operstate: int  # IF_OPER_UP (6) once the kernel has applied its carrier

    @property
    def up(self) -> bool:
        return self.operstate == IF_OPER_UP


def parse_messages(data: bytes):
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _flags, seq, _pid = HEADER.unpack_from(data, offset)
        if length < 16:
            break
        yield kind, seq, data[offset + 16: offset + length]
        offset += (length + 3) & ~3


def parse_attrs(data: bytes):
    offset = 0
    while offset + 4 <= len(data):
        length, kind = ATTR.unpack_from(data, offset)
        if length < 4:
            break
        yield kind & 0x3FFF, data[offset + 4: offset + length]
        offset += (length + 3) & ~3


def attr_string(data: bytes, wanted: int) -> str:
    for kind, value in parse_attrs(data):
        if kind == wanted:
            return value.rstrip(b"\0").decode(errors="replace")
    return ""


def ext_ack_message(payload: bytes) -> str:
    # With NETLINK_CAP_ACK the error carries only the original header (16 bytes) after
    # the 4-byte code; extended-ack attributes follow.
    return attr_string(payload[4 + 16:], NLMSGERR_ATTR_MSG)
