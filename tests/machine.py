"""What the machine looks like from the outside: used to prove that kindscape leaves
nothing behind and touches nothing it did not create."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, fields

SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/rp_filter",
           "net/ipv4/neigh/default/gc_thresh1", "net/ipv4/neigh/default/gc_thresh2",
           "net/ipv4/neigh/default/gc_thresh3", "net/ipv6/neigh/default/gc_thresh3",
           "net/core/somaxconn")


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return ""


def _listdir(path: str) -> tuple[str, ...]:
    try:
        return tuple(sorted(os.listdir(path)))
    except FileNotFoundError:
        return ()


def state_root() -> str:
    return os.environ.get("KINDSCAPE_STATE_DIR", "/run/kindscape")


def _kindscape_processes() -> tuple[str, ...]:
    found = []
    for entry in _listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "kindscape.probe." in argv and state_root().rstrip("/") + "/" in argv:
            found.append(argv.strip())
    return tuple(sorted(found))


def _sysctls() -> tuple[str, ...]:
    values = []
    for key in SYSCTLS:
        try:
            with open(f"/proc/sys/{key}") as handle:
                values.append(f"{key}={handle.read().strip()}")
        except OSError:
            pass
    return tuple(values)


@dataclass(frozen=True)
class Snapshot:
    namespaces: tuple[str, ...]
    links: str
    addresses: str
    routes: str
    routes6: str
    nft: str
    iptables: str
    sysctls: tuple[str, ...]
    processes: tuple[str, ...]
    state: tuple[str, ...]
    etc_netns: tuple[str, ...]
    docker: tuple[str, ...] = ()

    def diff(self, other: "Snapshot") -> dict[str, tuple]:
        return {f.name: (getattr(other, f.name), getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(other, f.name)}


def _links() -> str:
    # Statistics and operational state change on their own; names and kinds must not.
    lines = _run(["ip", "-o", "link", "show"]).splitlines()
    return "\n".join(sorted(line.split(":")[1].strip().split("@")[0] for line in lines if ":" in line))


def _namespaces() -> tuple[str, ...]:
    return _own(_listdir("/run/netns"))


def _own(found: tuple[str, ...]) -> tuple[str, ...]:
    # With KINDSCAPE_NETNS_PREFIX set (several developers on one machine), only ours count.
    prefix = os.environ.get("KINDSCAPE_NETNS_PREFIX")
    return tuple(n for n in found if n.startswith(prefix + ".")) if prefix else found


def snapshot() -> Snapshot:
    return Snapshot(
        namespaces=_namespaces(),
        links=_links(),
        addresses=_run(["ip", "-o", "addr", "show"]),
        routes=_run(["ip", "route", "show", "table", "all"]),
        routes6=_run(["ip", "-6", "route", "show", "table", "all"]),
        # Packet counters move with any traffic (dockerd's chains count every forwarded packet).
        nft=re.sub(r"counter packets \d+ bytes \d+", "counter", _run(["nft", "list", "ruleset"])),
        # iptables-save's comment lines carry timestamps; the rules are what matter.
        iptables="\n".join(re.sub(r"\[\d+:\d+\]", "[0:0]", line)
                           for line in _run(["iptables-save"]).splitlines() if not line.startswith("#")),
        sysctls=_sysctls(),
        processes=_kindscape_processes(),
        state=_listdir(state_root()),
        etc_netns=_own(_listdir("/etc/netns")),
        docker=_docker_objects(),
    )


# Docker objects that kindscape or its tests make: by kindscape's labels and KIND's (the
# stand-in's nodes), never the whole daemon (other users' containers come and go).
DOCKER_LABELS = ("io.kindscape.scenario", "io.x-k8s.kind.cluster", "io.kindscape.test")


def _docker_objects() -> tuple[str, ...]:
    found = []
    for kind, command in (("container", ["ps", "-a"]), ("network", ["network", "ls"]),
                          ("volume", ["volume", "ls"]), ("image", ["images"])):
        for label in DOCKER_LABELS:
            argv = ["docker", *command, "-q", "--filter", f"label={label}"]
            try:
                out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20).stdout
            except (FileNotFoundError, subprocess.TimeoutExpired):
                return ()
            found += [f"{kind} {line}" for line in out.split()]
    return tuple(sorted(set(found)))
