"""The workload server: one process serving every emulated pod, node and host.

Like agnhost's netexec, each TCP connection gets one line, `<endpoint> <peer address>`;
an HTTP request gets that line as the body of an HTTP/1.0 200 answer. A client that
sends nothing gets the line after a short wait (so `nc` works); our prober sends a
newline first and is answered at once.

The listening sockets are made inside each namespace (setns on this one thread) and
then served by a single epoll loop: a thousand pods cost a thousand sockets, not a
thousand processes. Only the standard library is imported (and dnslib, where a cluster's
DNS is served, see dns.py): this starts in milliseconds.

Run as: python -m kindscape.probe.server SPEC.json READY_FD [--wait-for-go]
(with --wait-for-go it opens its listeners after reading a line from stdin, and exits
if stdin closes first: it can start while the namespaces are still being made).
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
SILENT_CLIENT_WAIT = 0.2  # seconds before a client that sends nothing gets its line
HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ")
MAX_REQUEST = 8192

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), path)
    finally:
        os.close(fd)


def _listen(port: int) -> socket.socket:
    """A dual-stack listener on every address of the current namespace."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _bind_udp(port: int) -> socket.socket:
    """A dual-stack datagram socket: each datagram is answered with the endpoint's line."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.setblocking(False)
    return sock


def open_listeners(listeners: list[dict]) -> list[tuple[socket.socket, str]]:
    home = "/proc/thread-self/ns/net"
    home_fd = os.open(home, os.O_RDONLY)
    opened = []
    try:
        for item in listeners:
            _setns(os.path.join("/run/netns", item["ns"]))
            for port in item["ports"]:
                opened.append((_listen(port), item["endpoint"]))
            for port in item.get("udp", ()):
                opened.append((_bind_udp(port), UdpEndpoint(item["endpoint"])))
            if "dns" in item:  # a cluster's DNS: its sockets come with their own handlers
                from . import dns
                opened += dns.open_server(item["dns"])
    finally:
        if _libc.setns(home_fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(home_fd)
    return opened


class UdpEndpoint(str):
    """The endpoint name of a datagram socket (its role in the server's loop)."""


def peer_text(address: str) -> str:
    return address[7:] if address.startswith("::ffff:") else address


class Server:
    def __init__(self, listeners: list[tuple[socket.socket, str]]):
        self.selector = selectors.DefaultSelector()
        self.deadlines: list[tuple[float, int, socket.socket]] = []
        self.counter = itertools.count()
        self.pending: dict[socket.socket, tuple[str, bytes]] = {}
        for sock, endpoint in listeners:
            role = "call" if callable(endpoint) else "udp" if isinstance(endpoint, UdpEndpoint) else "listen"
            self.selector.register(sock, selectors.EVENT_READ, (role, endpoint))

    def serve(self) -> None:
        while True:
            timeout = max(0.0, self.deadlines[0][0] - time.monotonic()) if self.deadlines else None
            for key, _events in self.selector.select(timeout):
                role, endpoint = key.data
                if role == "listen":
                    self._accept(key.fileobj, endpoint)
                elif role == "udp":
                    _answer_datagrams(key.fileobj, endpoint)
                elif role == "call":  # a socket with its own handler (the cluster DNS)
                    endpoint(key.fileobj, self.selector)
                else:
                    self._read(key.fileobj)
            self._expire()

    def _accept(self, listener: socket.socket, endpoint: str) -> None:
        while True:
            try:
                conn, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. EMFILE: the client sees a reset, the server lives on
            line = f"{endpoint} {peer_text(peer[0])}\n".encode()
            # Our prober's newline came with the handshake's last packet: answer at once,
            # without a round through the selector. Others wait for their first bytes.
            self._received(conn, line, b"", _recv(conn), accepted=True)

    def _read(self, conn: socket.socket) -> None:
        line, seen = self.pending.pop(conn)
        self.selector.unregister(conn)
        self._received(conn, line, seen, _recv(conn))

    def _received(self, conn: socket.socket, line: bytes, seen: bytes, data: bytes | None,
                  accepted: bool = False) -> None:
        """What the client sent so far decides: nothing yet (wait), an HTTP request (its
        answer once the head is in), anything else (the line). A client that keeps us
        waiting gets the line `SILENT_CLIENT_WAIT` after it was accepted."""
        if data is None:
            self._wait(conn, line, seen, accepted)
            return
        if not data:
            _finish(conn, None)
            return
        seen += data
        if seen.startswith(HTTP_METHODS) or any(m.startswith(seen) for m in HTTP_METHODS):
            if b"\r\n\r\n" in seen or b"\n\n" in seen or len(seen) > MAX_REQUEST:
                _finish(conn, _http(line, head=seen.startswith(b"HEAD ")))
            else:
                self._wait(conn, line, seen, accepted)
            return
        _finish(conn, line)

    def _wait(self, conn: socket.socket, line: bytes, seen: bytes, accepted: bool) -> None:
        if accepted:
            heapq.heappush(self.deadlines, (time.monotonic() + SILENT_CLIENT_WAIT, next(self.counter), conn))
        self.pending[conn] = (line, seen)
        self.selector.register(conn, selectors.EVENT_READ, ("conn", None))

    def _expire(self) -> None:
        now = time.monotonic()
        while self.deadlines and self.deadlines[0][0] <= now:
            _, _, conn = heapq.heappop(self.deadlines)
            if conn in self.pending:
                line, _seen = self.pending.pop(conn)
                self.selector.unregister(conn)
                _finish(conn, line)


def _recv(conn: socket.socket) -> bytes | None:
    """What the client has sent (b"" once it is gone), None while it has sent nothing more."""
    try:
        return conn.recv(4096, socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def _finish(conn: socket.socket, answer: bytes | None) -> None:
    if answer:
        try:
            # MSG_MORE holds the answer back until close(), which adds the FIN to it: one
            # packet back across the emulated path instead of two.
            conn.send(answer, socket.MSG_DONTWAIT | socket.MSG_MORE)
        except OSError:
            pass
    conn.close()


def _answer_datagrams(sock: socket.socket, endpoint: str) -> None:
    while True:
        try:
            _data, peer = sock.recvfrom(MAX_REQUEST)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # e.g. an ICMP error queued on the socket: nothing to answer
        try:
            sock.sendto(f"{endpoint} {peer_text(peer[0])}\n".encode(), peer)
        except OSError:
            pass


def _http(line: bytes, head: bool) -> bytes:
    header = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
              b"Content-Length: " + str(len(line)).encode() + b"\r\n\r\n")
    return header if head else header + line


def raise_fd_limit() -> None:
    """One socket per namespace and port: lift the soft limit on open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str]) -> int:
    spec_path, ready_fd = argv[0], int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # belongs to the scenario, not a terminal
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    raise_fd_limit()
    try:
        with open(spec_path) as handle:
            spec = json.load(handle)
    except FileNotFoundError:  # the scenario is being removed (`down` withdrew the spec)
        os.write(ready_fd, b"error its spec is gone (the scenario is being removed)\n")
        return 1
    if any("dns" in item for item in spec["listeners"]):
        from . import dns  # noqa: F401  (imported while waiting: its import takes ~10 ms)
    if "--wait-for-go" in argv[2:] and not sys.stdin.buffer.readline():
        return 0  # whoever started us is gone
    try:
        listeners = open_listeners(spec["listeners"])
    except OSError as exc:
        os.write(ready_fd, f"error {exc}\n".encode())
        return 1
    server = Server(listeners)
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
