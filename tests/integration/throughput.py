"""A real TCP stream between two namespaces, measured at the receiver (for rate limits).

The sockets are made inside their namespaces (a socket keeps the namespace it was made
in); sending and receiving then run on ordinary threads."""

from __future__ import annotations

import socket
import threading
import time

from kindscape.linux import nsfs

PORT = 5201
WARMUP = 0.5  # seconds left out of the figure: TCP's slow start and htb's initial burst


def _listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", PORT))
    sock.listen(1)
    sock.settimeout(5)
    return sock


def stream_bits_per_second(sender_ns: str, receiver_ns: str, address: str, seconds: float = 1.5) -> float:
    """Send as fast as TCP allows for `seconds`; the receiver's steady rate in bit/s."""
    listener = nsfs.run_in_namespace(receiver_ns, _listener)
    client = nsfs.run_in_namespace(sender_ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    marks: list[tuple[float, int]] = []

    def receive() -> None:
        conn, _ = listener.accept()
        total = 0
        with conn:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                total += len(data)
                marks.append((time.monotonic(), total))

    receiver = threading.Thread(target=receive)
    receiver.start()
    try:
        client.settimeout(5)
        client.connect((address, PORT))
        chunk = b"x" * (1 << 16)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            client.sendall(chunk)
    finally:
        client.close()
        receiver.join(timeout=10)
        listener.close()
    start = next(m for m in marks if m[0] - marks[0][0] >= WARMUP)
    end = marks[-1]
    return (end[1] - start[1]) * 8 / (end[0] - start[0])
