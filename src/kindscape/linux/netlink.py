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
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

from .rtnl import (HEADER, IFADDR, IFINFO, NDMSG, NDTMSG, CREATE, IFA_ADDRESS,
                   IFA_F_NODAD, IFA_FLAGS, IFA_LOCAL, IFF_UP, IFLA_ADDRESS, IFLA_ALT_IFNAME,
                   IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER,
                   IFLA_NET_NS_FD, IFLA_NUM_RX_QUEUES, IFLA_NUM_TX_QUEUES, IFLA_OPERSTATE,
                   IFLA_PROP_LIST, MODIFY, NDA_DST, NDTA_NAME, NDTA_PARMS, NDTPA_IFINDEX,
                   NDTPA_PROXY_DELAY, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NLA_F_NESTED, NLM_F_ACK,
                   NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NTF_PROXY, NUD_PERMANENT,
                   REPLACE, RTM_GETLINK, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWLINKPROP,
                   RTM_NEWNEIGH, RTM_NEWROUTE, RTM_SETNEIGHTBL, SOL_NETLINK, VETH_INFO_PEER, Link,
                   RouteAnswer, parse_attrs, ext_ack_message, parse_messages, neighbour_attrs, nested,
                   route_answer, route_body, route_query, string_attr, u32_attr, attr, mac_bytes)

__all__ = ["NetlinkSocket", "Failure", "Link", "RouteAnswer", "describe"]
CHUNK = 1024  # messages per send(2): their error answers must fit the receive buffer
RCVBUF = 4 << 20

What = object  # a description, or a callable that returns one (rendered only on failure)


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
        attrs = string_attr(IFLA_IFNAME, name) + (u32_attr(IFLA_MASTER, master) if master else b"")
        self._queue(RTM_NEWLINK, MODIFY, IFINFO.pack(0, 0, 0, IFF_UP, IFF_UP) + attrs,
                    what or f"link set {name} up")

    def bridge(self, name: str, index: int, what: What = "", mac: str = "") -> None:
        attrs = string_attr(IFLA_IFNAME, name) + (attr(IFLA_ADDRESS, mac_bytes(mac)) if mac else b"")
        attrs += nested(IFLA_LINKINFO, string_attr(IFLA_INFO_KIND, "bridge"))
        self._queue(RTM_NEWLINK, CREATE, IFINFO.pack(0, 0, index, IFF_UP, IFF_UP) + attrs,
                    what or f"link add {name} type bridge")

    def veth(self, name: str, peer: str, peer_ns_fd: int, index: int, what: What = "",
             peer_index: int = 0, mac: str = "", peer_mac: str = "", queues: int = 0) -> None:
        """A veth pair, this end up with the given ifindex; the peer is created directly in
        the other namespace (with `peer_index`, or one the kernel picks), and down: the
        kernel cannot open it before the pair is joined (ENOTCONN), so it needs `link_up`.
        `queues` (0: the kernel's default, one per CPU) sets each end's queue count."""
        sizing = u32_attr(IFLA_NUM_TX_QUEUES, queues) + u32_attr(IFLA_NUM_RX_QUEUES, queues) if queues else b""
        peer_attrs = string_attr(IFLA_IFNAME, peer) + (attr(IFLA_ADDRESS, mac_bytes(peer_mac)) if peer_mac else b"")
        peer_attrs += sizing + u32_attr(IFLA_NET_NS_FD, peer_ns_fd)
        peer_info = IFINFO.pack(0, 0, peer_index, 0, 0) + peer_attrs
        info = nested(IFLA_LINKINFO, string_attr(IFLA_INFO_KIND, "veth"),
                       nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_info)))
        attrs = string_attr(IFLA_IFNAME, name) + (attr(IFLA_ADDRESS, mac_bytes(mac)) if mac else b"") + sizing + info
        self._queue(RTM_NEWLINK, CREATE, IFINFO.pack(0, 0, index, IFF_UP, IFF_UP) + attrs,
                    what or f"link add {name} type veth peer name {peer}")

    def altname(self, name: str, alt: str, what: What = "") -> None:
        attrs = string_attr(IFLA_IFNAME, name) + attr(IFLA_PROP_LIST | NLA_F_NESTED, string_attr(IFLA_ALT_IFNAME, alt))
        self._queue(RTM_NEWLINKPROP, CREATE, IFINFO.pack(0, 0, 0, 0, 0) + attrs,
                    what or f"link property add dev {name} altname {alt}")

    def address(self, index: int, cidr: str, what: What = "") -> None:
        iface = ipaddress.ip_interface(cidr)
        packed = iface.ip.packed
        if iface.version == 4:
            body = IFADDR.pack(socket.AF_INET, iface.network.prefixlen, 0, 0, index)
            body += attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        else:
            # No duplicate address detection: addresses are ours and must be usable at once.
            body = IFADDR.pack(socket.AF_INET6, iface.network.prefixlen, IFA_F_NODAD, 0, index)
            body += attr(IFA_ADDRESS, packed) + u32_attr(IFA_FLAGS, IFA_F_NODAD)
        self._queue(RTM_NEWADDR, CREATE, body, what or f"addr add {cidr}")

    def route(self, dst: str, gateway: str = "", oif: int = 0, scope: str = "", family: int = 4,
              what: What = "") -> None:
        self._queue(RTM_NEWROUTE, CREATE, route_body(dst, gateway, oif, scope, family),
                    what or f"route add {dst} via {gateway}")

    def neighbour(self, index: int, address: str, mac: str, what: What = "") -> None:
        """A permanent neighbour entry (`ip neigh replace ... nud permanent`): it is never
        garbage-collected and does not count toward the shared gc_thresh limits."""
        family, attrs = neighbour_attrs(address, mac)
        body = NDMSG.pack(family, index, NUD_PERMANENT, 0, 0) + attrs
        self._queue(RTM_NEWNEIGH, REPLACE, body, what or f"neigh replace {address} lladdr {mac}")

    def neigh_proxy(self, index: int, address: str, what: What = "") -> None:
        """Answer IPv6 neighbour solicitations for `address` on this link, without delay."""
        body = NDMSG.pack(socket.AF_INET6, index, NUD_PERMANENT, NTF_PROXY, 0)
        body += attr(NDA_DST, ipaddress.ip_address(address).packed)
        self._queue(RTM_NEWNEIGH, CREATE, body, what or f"neigh add proxy {address}")
        # Proxied answers to multicast solicitations wait up to proxy_delay (0.8 s) by default.
        parms = attr(NDTA_PARMS, u32_attr(NDTPA_IFINDEX, index) + attr(NDTPA_PROXY_DELAY, struct.pack("=Q", 0)))
        self._queue(RTM_SETNEIGHTBL, MODIFY, NDTMSG.pack(socket.AF_INET6) + string_attr(NDTA_NAME, "ndisc_cache") + parms,
                    what or "neighbour table: proxy_delay 0")

    def sync_link(self, index: int, what: What = "") -> None:
        """Ask for one link (RTM_GETLINK): the kernel first applies its pending carrier
        change (linkwatch), which otherwise waits in a queue served 100-200 links at a
        time, and up to a second apart: until then the link's qdisc drops everything."""
        self._queue(RTM_GETLINK, NLM_F_REQUEST, IFINFO.pack(0, 0, index, 0, 0),
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
            data = b"".join(HEADER.pack(16 + len(body), kind, flags | (NLM_F_ACK if n == last else 0), seq, 0)
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
            for kind, seq, payload in parse_messages(data):
                if kind != NLMSG_ERROR:
                    continue
                code = -struct.unpack_from("=i", payload, 0)[0]
                if code:
                    errors.append((seq, code, ext_ack_message(payload)))
                if seq == last_seq:
                    return errors

    def _request(self, kind: int, flags: int, body: bytes) -> None:
        self.seq += 1
        self.sock.sendall(HEADER.pack(16 + len(body), kind, flags, self.seq, 0) + body)

    def route_get(self, dst: str, src: str = "", iif: int = 0, oif: int = 0, mark: int = 0,
                  fib_match: bool = False) -> RouteAnswer:
        """Ask the kernel how it routes a packet (RTM_GETROUTE): from a local socket when
        `iif` is 0, else as if it arrived on interface `iif` (which runs the input checks,
        e.g. strict rp_filter). Raises OSError with the kernel's errno when it refuses."""
        self._request(RTM_GETROUTE, NLM_F_REQUEST, route_query(dst, src, iif, oif, mark, fib_match))
        for kind, _seq, payload in parse_messages(self.sock.recv(1 << 16)):
            if kind == NLMSG_ERROR:
                code = struct.unpack_from("=i", payload, 0)[0]
                raise OSError(-code, os.strerror(-code), ext_ack_message(payload))
            if kind == RTM_NEWROUTE:
                return route_answer(payload)
        raise OSError(0, "no answer to RTM_GETROUTE")

    def altnames(self, name: str) -> list[str]:
        """The alternative names of one link (where ownership marks live)."""
        self._request(RTM_GETLINK, NLM_F_REQUEST, IFINFO.pack(0, 0, 0, 0, 0) + string_attr(IFLA_IFNAME, name))
        for kind, _seq, payload in parse_messages(self.sock.recv(1 << 16)):
            if kind == NLMSG_ERROR:
                return []
            for code, value in parse_attrs(payload[16:]):
                if code == IFLA_PROP_LIST:
                    return [v.rstrip(b"\0").decode(errors="replace")
                            for a, v in parse_attrs(value) if a == IFLA_ALT_IFNAME]
        return []

    def link_indexes(self) -> dict[str, int]:
        """Dump the namespace's links: name -> ifindex."""
        return {name: link.index for name, link in self.links().items()}

    def links(self) -> dict[str, "Link"]:
        """Dump the namespace's links (as they are: a dump does not wait for linkwatch)."""
        self._request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, IFINFO.pack(0, 0, 0, 0, 0))
        found: dict[str, Link] = {}
        while True:
            data = self.sock.recv(1 << 20)
            for kind, _seq, payload in parse_messages(data):
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from("=i", payload, 0)[0]
                    raise OSError(-code, "link dump failed")
                attrs = dict(parse_attrs(payload[16:]))
                if IFLA_IFNAME in attrs:
                    name = attrs[IFLA_IFNAME].rstrip(b"\0").decode(errors="replace")
                    operstate = attrs[IFLA_OPERSTATE][0] if IFLA_OPERSTATE in attrs else 0
                    found[name] = Link(struct.unpack_from("=i", payload, 4)[0], operstate)
