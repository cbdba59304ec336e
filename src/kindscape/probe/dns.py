"""A cluster's DNS server (CoreDNS's place), served inside the workload server's epoll loop:
UDP and TCP 53 in the CoreDNS pod's namespace, one `Zone` per cluster, no process of its
own. The records come from the plan (`plan/clusterdns.py`); dnslib does the wire format.

Answers as CoreDNS's `kubernetes` plugin does: authoritative, A/AAAA/SRV/CNAME/PTR from
the records, `<a-b-c-d>.<ns>.pod.cluster.local` for any address (`pods insecure`, KIND's
Corefile), NODATA for a name that exists without that type, NXDOMAIN for anything else
(there is no upstream to forward to). A UDP answer larger than the client accepts is
truncated (TC), and the client retries over TCP.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import struct
from collections.abc import Callable

from dnslib import AAAA, CNAME, EDNS0, PTR, QTYPE, RCODE, RR, SOA, SRV, A, DNSError, DNSLabel, DNSRecord

TTL = 30  # KIND's Corefile: `ttl 30`
PORT = 53
PLAIN_UDP_LIMIT = 512
MAX_MESSAGE = 65535
Handler = Callable[[socket.socket, selectors.BaseSelector], None]


def _rdata(rtype: str, data: str):
    if rtype == "A":
        return A(data)
    if rtype == "AAAA":
        return AAAA(data)
    if rtype == "CNAME":
        return CNAME(data)
    if rtype == "PTR":
        return PTR(data)
    if rtype == "SRV":
        priority, weight, port, target = data.split()
        return SRV(int(priority), int(weight), int(port), target)
    raise ValueError(f"unsupported record type {rtype}")


class Zone:
    """The records of one cluster, and the answer to any question about them."""

    def __init__(self, zone: str, records: list[list[str]]):
        self.zone = zone.lower()
        self.names: dict[str, list[RR]] = {}
        self.parents: set[str] = set()  # names that exist only as parents (empty non-terminals)
        for name, rtype, data in records:
            key = name.lower()
            self.names.setdefault(key, []).append(
                RR(key, getattr(QTYPE, rtype), ttl=TTL, rdata=_rdata(rtype, data)))
            labels = key.split(".")
            self.parents.update(".".join(labels[i:]) for i in range(1, len(labels)))
        self.soa = RR(self.zone, QTYPE.SOA, ttl=TTL, rdata=SOA(
            f"ns.dns.{self.zone}", f"hostmaster.{self.zone}", (1, 7200, 1800, 86400, TTL)))

    def answer(self, request: DNSRecord) -> DNSRecord:
        reply = request.reply(ra=1, aa=1)
        if request.header.opcode != 0 or len(request.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP if request.header.opcode else RCODE.FORMERR
            return reply
        question = request.q
        name = str(question.qname).rstrip(".").lower()
        found = self.names.get(name) or self._pod_record(name)
        in_zone = name == self.zone or name.endswith("." + self.zone)
        if not found:
            if name not in self.parents:
                reply.header.rcode = RCODE.NXDOMAIN
            if in_zone:
                reply.add_auth(self.soa)
            return reply
        aliases = [rr for rr in found if rr.rtype == QTYPE.CNAME]
        if aliases and question.qtype != QTYPE.CNAME:
            matching = aliases  # a CNAME answers every type; its target is not ours to chase
        else:
            matching = [rr for rr in found if question.qtype in (QTYPE.ANY, rr.rtype)]
        if not matching and in_zone:
            reply.add_auth(self.soa)  # NODATA: the name exists, not with that type
        for rr in matching:
            reply.add_answer(_renamed(rr, question.qname))
        for rr in matching:
            if rr.rtype == QTYPE.SRV:
                for extra in self.names.get(str(rr.rdata.target).rstrip(".").lower(), []):
                    if extra.rtype in (QTYPE.A, QTYPE.AAAA):
                        reply.add_ar(extra)
        return reply

    def _pod_record(self, name: str) -> list[RR]:
        """`pods insecure`: 10-110-1-2.<namespace>.pod.cluster.local answers 10.110.1.2."""
        labels = name.split(".")
        if len(labels) != 3 + len(self.zone.split(".")) or ".".join(labels[2:]) != f"pod.{self.zone}":
            return []
        for text in (labels[0].replace("-", "."), labels[0].replace("-", ":")):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            rtype = QTYPE.A if address.version == 4 else QTYPE.AAAA
            rdata = A(str(address)) if address.version == 4 else AAAA(str(address))
            return [RR(name, rtype, ttl=TTL, rdata=rdata)]
        return []


def _renamed(rr: RR, qname: DNSLabel) -> RR:
    """The record under the name as the client spelled it (DNS names are case-insensitive)."""
    return RR(qname, rr.rtype, rr.rclass, rr.ttl, rr.rdata)


def reply_bytes(zone: Zone, data: bytes, limit: int | None) -> bytes | None:
    """The wire answer to a wire question; None for a message that is not a DNS query.
    `limit`: the UDP size the client accepts (None: TCP)."""
    try:
        request = DNSRecord.parse(data)
    except (DNSError, ValueError, IndexError, struct.error):
        return None
    if request.header.qr:
        return None
    reply = zone.answer(request)
    edns = next((rr for rr in request.ar if rr.rtype == QTYPE.OPT), None)
    if edns is not None:
        reply.add_ar(EDNS0(udp_len=1232))
    packed = reply.pack()
    if limit is not None:
        accepted = max(PLAIN_UDP_LIMIT, edns.rclass if edns is not None else 0)
        if len(packed) > accepted:
            packed = reply.truncate().pack()
    return packed


class DnsServer:
    """UDP and TCP 53 for one zone; its sockets are served by the workload server's loop."""

    def __init__(self, zone: Zone):
        self.zone = zone
        self.buffers: dict[socket.socket, bytes] = {}

    def on_udp(self, sock: socket.socket, selector: selectors.BaseSelector) -> None:
        while True:
            try:
                data, peer = sock.recvfrom(MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                return
            answer = reply_bytes(self.zone, data, limit=PLAIN_UDP_LIMIT)
            if answer is not None:
                try:
                    sock.sendto(answer, peer)
                except OSError:
                    pass  # the client is gone: nothing to tell it

    def on_accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            self.buffers[conn] = b""
            selector.register(conn, selectors.EVENT_READ, ("call", self.on_tcp))

    def on_tcp(self, conn: socket.socket, selector: selectors.BaseSelector) -> None:
        """Length-prefixed questions (RFC 1035 4.2.2); the connection stays open for more."""
        try:
            data = conn.recv(MAX_MESSAGE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        buffer = self.buffers.get(conn, b"") + data
        alive = bool(data)
        while alive and len(buffer) >= 2:
            size = int.from_bytes(buffer[:2], "big")
            if len(buffer) < 2 + size:
                break
            answer = reply_bytes(self.zone, buffer[2:2 + size], limit=None)
            buffer = buffer[2 + size:]
            alive = answer is not None and _send(conn, len(answer).to_bytes(2, "big") + answer)
        if not alive:
            selector.unregister(conn)
            self.buffers.pop(conn, None)
            conn.close()
            return
        self.buffers[conn] = buffer


def _send(conn: socket.socket, message: bytes) -> bool:
    try:
        conn.sendall(message)
    except OSError:
        return False
    return True


def open_server(spec: dict) -> list[tuple[socket.socket, Handler]]:
    """The DNS sockets, made in the calling thread's namespace: UDP and TCP on [::]:53,
    dual-stack (IPv4 clients arrive as mapped addresses)."""
    server = DnsServer(Zone(spec["zone"], spec["records"]))
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    for sock in (udp, tcp):
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", PORT))
        sock.setblocking(False)
    tcp.listen(128)
    return [(udp, server.on_udp), (tcp, server.on_accept)]
