"""Real TCP and UDP probes, many at once, from one process: each socket is made inside its source
namespace (setns, socket, connect, setns back) and they are driven by epoll loops (one
per core, each on a thread of its own, see `run`). A probe is reachable when the target
accepted the connection; the listener's line says which endpoint answered and which
source address it saw. A UDP probe sends one datagram and is reachable when the
target's datagram comes back within the timeout."""

from __future__ import annotations

import errno
import os
import resource
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from ..progress import Progress, no_progress
from ..linux import nsfs
from ..linux.workers import Workers

DEFAULT_TIMEOUT = 1.0
DEFAULT_CONCURRENCY = 512  # sockets in flight: bounded, so fds and memory stay bounded
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset
DEFAULT_WORKERS = 2  # epoll loops on threads of their own: about one per core
FD_HEADROOM = 16  # descriptors left for everything else (namespace files, pipes, logs)
PROGRESS_EVERY = 0.1  # seconds between progress reports (each loop reports what it finished)
_WATCH_TCP = select.EPOLLIN | select.EPOLLOUT | select.EPOLLET
_WATCH_UDP = select.EPOLLIN | select.EPOLLET
_FAILED = select.EPOLLERR | select.EPOLLHUP


@dataclass(frozen=True)
class ProbeTask:
    source: str  # endpoint name
    source_ns: str
    target: str
    address: str
    port: int
    protocol: str = "TCP"  # TCP | UDP


@dataclass
class ProbeResult:
    task: ProbeTask
    reachable: bool = False
    seen_source: str | None = None
    local_address: str | None = None
    answered_by: str | None = None
    rtt_ms: float | None = None
    error: str | None = None
    represents: int = 1  # pairs this probe stands for (check's sampling: its class's size)

    @property
    def family(self) -> int:
        return 6 if ":" in self.task.address else 4

    @property
    def source_preserved(self) -> bool | None:
        if not self.reachable or self.seen_source is None:
            return None
        return self.seen_source == self.local_address


@dataclass(slots=True)
class _Flight:
    result: ProbeResult
    sock: socket.socket
    started: float
    deadline: float
    connected: bool = False
    buffer: bytes = b""


class _Tally:
    """Finished probes of all loops together, reported as the `probes` step (throttled)."""

    def __init__(self, total: int, progress: Progress):
        self.total, self.done, self.progress = total, 0, progress
        self.lock = threading.Lock()
        self.reported = float("-inf")  # the first finished probe is always reported

    def add(self, finished: int) -> None:
        if self.progress is no_progress or not finished:
            return
        with self.lock:
            self.done += finished
            now = time.monotonic()
            if self.done >= self.total or now - self.reported >= PROGRESS_EVERY:
                self.reported = now
                self.progress("probes", self.done, self.total)


def run(tasks: list[ProbeTask], timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY, workers: int = DEFAULT_WORKERS,
        progress: Progress = no_progress) -> list[ProbeResult]:
    """Probe every task; results in the order of `tasks`.

    A probe's cost is mostly the kernel's: the SYN, the answer and the FIN cross the
    emulated path (veths, bridge, routes, NAT) inside the prober's own syscalls. So the
    tasks are split into `workers` shares, each driven by its own epoll loop on its own
    thread (the GIL is free while the kernel works): one per core."""
    results = [ProbeResult(task) for task in tasks]
    order = sorted(range(len(tasks)), key=lambda i: tasks[i].source_ns)  # fewer setns calls
    concurrency = fd_budget(concurrency)  # for all loops together: they share the fd table
    workers = max(1, min(workers, concurrency))  # each loop keeps at least one probe in flight
    share = max(1, -(-len(order) // workers))
    groups = [[results[i] for i in order[start:start + share]] for start in range(0, len(order), share)]
    tally = _Tally(len(results), progress)
    if len(groups) <= 1:
        for group in groups:
            _probe(group, timeout, concurrency, tally)
        return results
    per_loop = max(1, concurrency // len(groups))
    Workers(lambda group: _probe(group, timeout, per_loop, tally), groups, len(groups), name="probe").wait()
    return results


def _probe(results: list[ProbeResult], timeout: float, concurrency: int, tally: _Tally) -> None:
    """One epoll loop: at most `concurrency` probes in flight, sources entered in turn.
    `flights` keeps launch order, which is deadline order (one timeout for all): the
    soonest deadline is always the first."""
    poller = select.epoll()
    flights: dict[int, _Flight] = {}
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    next_task = finished = 0
    try:
        while next_task < len(results) or flights:
            if next_task < len(results) and len(flights) < concurrency:
                batch = results[next_task: next_task + concurrency - len(flights)]
                launched = _launch(batch, timeout, poller, flights, home)
                next_task += launched
                if launched < len(batch):  # out of descriptors after all: fewer at once
                    concurrency = max(1, len(flights))
            _step(poller, flights)
            tally.add(next_task - len(flights) - finished)
            finished = next_task - len(flights)
    finally:
        for flight in flights.values():
            flight.sock.close()
        poller.close()
        os.close(home)


def fd_budget(wanted: int) -> int:
    """How many sockets may be in flight: `wanted`, or fewer when the limit on open files
    (minus what is open now, minus headroom) is lower. Never more than it: no EMFILE."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    open_now = len(os.listdir("/proc/self/fd"))
    return max(1, min(wanted, soft - open_now - FD_HEADROOM))


def _launch(batch: list[ProbeResult], timeout: float, poller, flights: dict[int, _Flight],
            home: int) -> int:
    """Start the batch's probes; returns how many were started (fewer when out of fds)."""
    current = None
    started = 0
    try:
        for started, result in enumerate(batch):
            task = result.task
            if task.source_ns != current:
                nsfs.enter(task.source_ns)
                current = task.source_ns
            family = socket.AF_INET6 if ":" in task.address else socket.AF_INET
            udp = task.protocol == "UDP"
            try:
                sock = socket.socket(family, (socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) | socket.SOCK_NONBLOCK)
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE) and flights:
                    return started  # the rest waits until sockets in flight are closed
                raise
            if not udp:
                # Delayed ACKs: the handshake's last ACK then rides on our newline (one
                # packet fewer across the emulated path), and the listener, woken by
                # that packet, finds the newline already there.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
            now = time.monotonic()
            code = sock.connect_ex((task.address, task.port))
            flight = _Flight(result, sock, now, now + timeout)
            if code not in (0, errno.EINPROGRESS):
                result.error = _reason(code)
                sock.close()
                continue
            if udp and not _send_datagram(flight):
                sock.close()
                continue
            fd = sock.fileno()
            flights[fd] = flight
            # Edge-triggered: a TCP probe hears "connected" (OUT) and then "answered" (IN)
            # without re-arming, a UDP probe its answer (or its ICMP error).
            poller.register(fd, _WATCH_UDP if udp else _WATCH_TCP)
        return len(batch)
    finally:
        if current is not None:
            nsfs.setns(home)


def _step(poller, flights: dict[int, _Flight]) -> None:
    soonest = next(iter(flights.values())).deadline if flights else None
    wait = 0.05 if soonest is None else max(0.0, min(0.05, soonest - time.monotonic()))
    for fd, events in poller.poll(wait):
        flight = flights.get(fd)
        if flight is not None:
            _advance(fd, flight, events, flights)
    if not flights:
        return
    now = time.monotonic()
    expired = []
    for fd, flight in flights.items():  # launch order = deadline order
        if now < flight.deadline:
            break
        expired.append(fd)
    for fd in expired:
        flight = flights[fd]
        if not flight.connected:
            flight.result.error = "timed out"
        _close(fd, flights)


def _send_datagram(flight: _Flight) -> bool:
    flight.result.local_address = _unmapped(flight.sock.getsockname()[0])
    try:
        flight.sock.send(b"\n")
        return True
    except OSError as exc:
        flight.result.error = _reason(exc.errno or 0)
        return False


def _advance(fd: int, flight: _Flight, events: int, flights: dict[int, _Flight]) -> None:
    result = flight.result
    if not flight.connected and result.task.protocol == "TCP":
        if events & _FAILED:  # refused, unreachable (ICMP), reset: the socket says which
            code = flight.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                result.error = _reason(code)
                _close(fd, flights)
                return
        flight.connected = True
        result.reachable = True
        result.rtt_ms = round((time.monotonic() - flight.started) * 1000, 3)
        result.local_address = _unmapped(flight.sock.getsockname()[0])
        try:
            flight.sock.send(b"\n")
        except OSError:
            pass
        if not events & select.EPOLLIN:  # its answer comes with an edge of its own
            return
    _read(fd, flight, flights)


def _read(fd: int, flight: _Flight, flights: dict[int, _Flight]) -> None:
    """The listener's line (TCP), or a UDP probe's answer or the ICMP error queued for it.
    Edge-triggered: reads until the line is in or the kernel has nothing more."""
    result = flight.result
    udp = result.task.protocol == "UDP"
    while True:
        try:
            data = flight.sock.recv(512)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if udp:
                result.error = _reason(exc.errno or 0)
                _close(fd, flights)
                return
            data = b""
        if udp:
            result.reachable = flight.connected = True
            result.rtt_ms = round((time.monotonic() - flight.started) * 1000, 3)
        flight.buffer += data
        if udp or not data or b"\n" in flight.buffer:
            _parse_line(result, flight.buffer)
            _close(fd, flights)
            return


def _parse_line(result: ProbeResult, data: bytes) -> None:
    parts = data.split(b"\n", 1)[0].decode(errors="replace").split()
    if len(parts) == 2:
        result.answered_by, result.seen_source = parts[0], _unmapped(parts[1])


def _close(fd: int, flights: dict[int, _Flight]) -> None:
    """Forget the probe and close its socket (which also takes it out of the epoll set)."""
    flight = flights.pop(fd)
    if flight.connected and flight.result.task.protocol == "TCP":
        # Reset rather than FIN: the answer is in, and neither side keeps the connection in
        # TIME_WAIT (thousands of them per check otherwise, in the targets' namespaces).
        flight.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    flight.sock.close()


def _unmapped(address: str) -> str:
    return address[7:] if address.startswith("::ffff:") else address


def _reason(code: int) -> str:
    names = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "no route to host",
             errno.ENETUNREACH: "network unreachable", errno.ETIMEDOUT: "timed out"}
    return names.get(code, os.strerror(code))
