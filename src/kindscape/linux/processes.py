"""The scenario's long-lived processes: started detached, recorded with their start time
(so a recycled pid is never killed), found again by their command line when the state
file is gone."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from ..errors import RuntimeFailure

SERVER_MODULE = "kindscape.probe.server"
READY_TIMEOUT = 120.0  # s: generous (a loaded machine); the wait ends as soon as the server answers or exits


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat);
    None when there is no such process or it has exited (a zombie awaiting its reaper)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(record: dict[str, Any]) -> bool:
    return start_time(record["pid"]) == record["start"]


def spec_path_of(directory: str, role: str) -> str:
    """The server's spec file: it names the scenario's directory in the server's argv (its
    ownership mark), and a server that starts without it exits (see `withdraw`)."""
    return os.path.join(directory, f"{role}.json")


def withdraw(directory: str, role: str) -> None:
    """Remove a server's spec before looking for the server to stop: a server forked by an
    `up` killed during its start, but not yet exec'd (so not yet findable by its argv),
    then finds no spec and exits instead of serving a scenario that is being removed."""
    try:
        os.unlink(spec_path_of(directory, role))
    except FileNotFoundError:
        pass


@dataclass
class Server:
    """A workload server started early (its interpreter starts while namespaces are made)
    that opens its listeners when told to (`go`), once the namespaces exist."""

    proc: subprocess.Popen
    record: dict[str, Any]
    ready_fd: int
    log_path: str
    role: str

    def go(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.close()
        except BrokenPipeError:  # it exited already (e.g. no spec): wait_ready says why
            pass

    def wait_ready(self) -> None:
        try:
            answer = _read_ready(self.ready_fd, self.proc)
        finally:
            os.close(self.ready_fd)
        if answer != "ready":
            stop(self.record)
            with open(self.log_path) as log:
                detail = log.read().strip().splitlines()[-3:]
            raise RuntimeFailure(f"the {self.role} server did not start: {answer} "
                                 f"{' '.join(detail)}".strip())


def spawn_server(spec: dict[str, Any], directory: str, role: str) -> Server:
    """Start the workload server for `spec`; it waits for `go` before it opens listeners
    (and exits if we die first: its stdin closes)."""
    spec_path = spec_path_of(directory, role)
    fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(spec, handle)
    log_path = os.path.join(directory, f"{role}.log")
    read_end, write_end = os.pipe()
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, spec_path, str(write_end), "--wait-for-go"],
            pass_fds=(write_end,), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=log, start_new_session=True, cwd="/", close_fds=True)
    os.close(write_end)
    record = {"pid": proc.pid, "start": start_time(proc.pid), "role": role, "spec": spec_path}
    return Server(proc, record, read_end, log_path, role)


def start_server(spec: dict[str, Any], directory: str, role: str) -> dict[str, Any]:
    """Start the workload server for `spec`, wait until it listens; returns its record."""
    server = spawn_server(spec, directory, role)
    server.go()
    server.wait_ready()
    return server.record


def _read_ready(fd: int, proc: subprocess.Popen) -> str:
    """The server's answer on its ready pipe: `ready`, `error ...`, or why there was none.
    Waits on the pipe itself (poll: no limit on the descriptor's number, which is high in
    an `up` holding a netlink socket per namespace) for as long as the server lives, up to
    READY_TIMEOUT: on a loaded machine its start can take seconds, and a live server that
    has not answered yet is slow, not failed."""
    deadline = time.monotonic() + READY_TIMEOUT
    data = b""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"no answer within {READY_TIMEOUT:.0f} s"
        if not poller.poll(min(left, 1.0) * 1000):
            continue
        chunk = os.read(fd, 256)
        if not chunk:  # the server closed the pipe: it exited (or will) without answering
            code = proc.wait(timeout=READY_TIMEOUT)
            return data.decode(errors="replace").strip() or f"it exited (status {code}) without answering"
        data += chunk
    return data.decode(errors="replace").strip()


def stop(record: dict[str, Any], grace: float = 2.0) -> bool:
    """Stop a recorded process if it is still the one we started; True if it was running."""
    pid = record["pid"]
    if not alive(record):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if start_time(pid) != record["start"]:
            _reap(pid)
            return True
        _reap(pid)
        time.sleep(0.005)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def find_servers(directory: str) -> list[dict[str, Any]]:
    """Workload servers of a scenario whose records are lost: their argv names the
    scenario's state directory (the ownership mark of a process)."""
    found = []
    prefix = directory.rstrip("/") + "/"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if SERVER_MODULE.encode() in argv and any(a.decode(errors="replace").startswith(prefix)
                                                 for a in argv):
            pid = int(entry)
            found.append({"pid": pid, "start": start_time(pid), "role": "orphan"})
    return found
