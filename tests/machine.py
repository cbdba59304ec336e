"""What the machine looks like from the outside: used to prove that kindscape leaves
nothing behind and touches nothing it did not create.

A snapshot reads the root namespace's links, addresses, routes and policy rules (both
families), the nft ruleset and the iptables/ip6tables rules, every sysctl under
/proc/sys/net (the tool writes only net.* keys, inside its namespaces; the machine-wide
ones must not move), the mount table, our namespaces, kindscape's processes, the state
directory (recursively, with modes) and /etc/netns.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, fields

# Interfaces whose per-device sysctls are compared: the defaults and the machine's own.
# (Interfaces other users of the machine add and remove, e.g. Docker's veths, are not.)
STABLE_DEVICES = ("all", "default", "lo", "eth0")
PER_DEVICE_DIRS = ("net/ipv4/conf", "net/ipv6/conf", "net/ipv4/neigh", "net/ipv6/neigh")
# Counters the kernel changes with any traffic on the machine (not settings).
VOLATILE_SYSCTLS = ("net/netfilter/nf_conntrack_count", "net/netfilter/nf_conntrack_expect_count")
# Mounts that belong to other software on this machine, which changes them on its own.
FOREIGN_MOUNTS = ("/var/lib/docker/", "/run/docker/", "/mnt/sandboxing/")
# dockerd (shared by everyone on this machine: the docker tests, the kind runtime) makes
# and removes its own interfaces, addresses, routes and rules in the root namespace at any
# time. kindscape's netns runtime makes nothing there, and none of its names look like
# these, so Docker's own objects are left out of the comparison.
DOCKER_OWNED = re.compile(r"\b(docker0|veth[0-9a-f]{7}|br-[0-9a-f]{12})\b|DOCKER")
# Lines that may appear but never go: the /run/netns mount point itself. On a machine that
# never had a named namespace there is none; the first namespace makes it (kindscape, like
# `ip netns add`, bind-mounts /run/netns on itself to make it shared) and it stays for
# good, as iproute2's does. Its appearing is the machine's first use, not a leak; its
# going would be (nothing may unmount it).
# Likewise dockerd's IPv6 switch: when it first makes an IPv6 network (KIND's `kind`
# network is one) it turns IPv6 forwarding on - all, default and every device - and never
# off, and with forwarding on the kernel adds anycast routes for the subnet-router
# addresses. Real KIND on a fresh machine does the same; kindscape writes no sysctl of the
# root namespace. So forwarding may go from 0 to 1, never back.
KERNEL_ANYCAST = re.compile(r"anycast \S+ dev \S+ table local proto kernel metric 0 pref medium")
MADE_ONCE = {"mounts": re.compile(r"/run/netns \S+"), "routes": KERNEL_ANYCAST, "routes6": KERNEL_ANYCAST}
SWITCHED_ON_ONCE = {"sysctls": re.compile(r"net/ipv6/conf/[^=]+/forwarding")}


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


def netns_prefix() -> str:
    return os.environ.get("KINDSCAPE_NETNS_PREFIX", "ks") + "."


def _kindscape_processes() -> tuple[str, ...]:
    """kindscape's processes whose state directory is ours: in our mount namespace (a
    sandboxed session's /run/kindscape is another directory, though its processes show)."""
    found = []
    mine = os.readlink("/proc/self/ns/mnt")
    for entry in _listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().replace(b"\0", b" ").decode(errors="replace")
            if os.readlink(f"/proc/{entry}/ns/mnt") != mine:
                continue
        except OSError:
            continue
        if "kindscape.probe." in argv and state_root().rstrip("/") + "/" in argv:
            found.append(argv.strip())
    return tuple(sorted(found))


def _compared_sysctl(relative: str) -> bool:
    if relative in VOLATILE_SYSCTLS:
        return False
    for directory in PER_DEVICE_DIRS:
        if relative.startswith(directory + "/"):
            device = relative[len(directory) + 1:].split("/", 1)[0]
            return device in STABLE_DEVICES
    return True


def _sysctls() -> tuple[str, ...]:
    values = []
    for root, dirs, files in os.walk("/proc/sys/net"):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = path[len("/proc/sys/"):]
            if not _compared_sysctl(relative):
                continue
            try:
                with open(path) as handle:
                    values.append(f"{relative}={handle.read().strip()}")
            except OSError:  # write-only entries (e.g. route/flush)
                pass
    return tuple(values)


def _mounts() -> tuple[str, ...]:
    """Mount points and their types (ids and options change on their own); of the
    namespace files under /run/netns, only ours (other users of the machine make theirs)."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            parts = line.split()
            point, fstype = parts[4], parts[parts.index("-") + 1]
            if point.startswith(FOREIGN_MOUNTS):
                continue
            if point.startswith("/run/netns/") and not point.startswith("/run/netns/" + netns_prefix()):
                continue
            found.append(f"{point} {fstype}")
    return tuple(sorted(found))


def _tree(path: str) -> tuple[str, ...]:
    """Every file and directory under `path`, with its mode (state must stay root-only)."""
    found = []
    for root, dirs, files in os.walk(path):
        # up's cache of resolved topologies stays by design (its own tests check it)
        dirs[:] = sorted(d for d in dirs if not (root == path and d == ".topologies"))
        for name in dirs + sorted(files):
            full = os.path.join(root, name)
            try:
                mode = os.lstat(full).st_mode & 0o7777
            except FileNotFoundError:
                continue
            found.append(f"{os.path.relpath(full, path)} {mode:o}")
    return tuple(found)


@dataclass(frozen=True)
class Snapshot:
    namespaces: tuple[str, ...]
    mounts: tuple[str, ...]
    links: str
    addresses: str
    routes: str
    routes6: str
    rules: str
    nft: str
    iptables: str
    ip6tables: str
    sysctls: tuple[str, ...]
    processes: tuple[str, ...]
    state: tuple[str, ...]
    etc_netns: tuple[str, ...]
    docker: tuple[str, ...] = ()  # containers, networks, volumes, images with our labels

    def diff(self, other: "Snapshot") -> dict[str, dict[str, list[str]]]:
        """What changed from `other` to this one: per field, the lines gone and the new ones."""
        changes = {}
        for f in fields(self):
            # Counted, not sets: a mount stacked twice on one point is a leak too.
            now, then = Counter(_lines(getattr(self, f.name))), Counter(_lines(getattr(other, f.name)))
            gone, new = sorted((then - now).elements()), sorted((now - then).elements())
            if f.name in MADE_ONCE:
                new = [line for line in new if not MADE_ONCE[f.name].fullmatch(line)]
            if f.name in SWITCHED_ON_ONCE:
                gone, new = _switched_on_left_out(gone, new, SWITCHED_ON_ONCE[f.name])
            if gone or new:
                changes[f.name] = {"gone": gone, "new": new}
        return changes


def _switched_on_left_out(gone: list[str], new: list[str], key: re.Pattern) -> tuple[list[str], list[str]]:
    """Without the settings `key` matches that went from 0 to 1 (and only those)."""
    on = {line[:-2] for line in new if line.endswith("=1") and key.fullmatch(line[:-2])}
    off = {line[:-2] for line in gone if line.endswith("=0") and key.fullmatch(line[:-2])}
    switched = on & off
    return ([line for line in gone if line[:-2] not in switched or not line.endswith("=0")],
            [line for line in new if line[:-2] not in switched or not line.endswith("=1")])


def _lines(value: str | tuple[str, ...]) -> list[str]:
    return value.splitlines() if isinstance(value, str) else list(value)


def _links() -> str:
    # Statistics and operational state change on their own; names and kinds must not.
    lines = _run(["ip", "-o", "link", "show"]).splitlines()
    names = (line.split(":")[1].strip().split("@")[0] for line in lines if ":" in line)
    return "\n".join(sorted(name for name in names if not DOCKER_OWNED.search(name)))


def _ours(directory: str) -> tuple[str, ...]:
    # With KINDSCAPE_NETNS_PREFIX set (several developers on one machine), only ours count.
    prefix = os.environ.get("KINDSCAPE_NETNS_PREFIX")
    found = _listdir(directory)
    return tuple(n for n in found if n.startswith(prefix + ".")) if prefix else found


ETC_NETNS = "/etc/netns"


@contextlib.contextmanager
def without_etc_netns():
    """A machine that never had /etc/netns (where the pods' resolv.conf go): `up` makes it
    and `down` must remove it again (the caller checks: the snapshot sees only entries). An
    empty one is put back afterwards; one holding others' entries cannot be taken: skip."""
    import pytest
    existed = os.path.isdir(ETC_NETNS)
    if existed and os.listdir(ETC_NETNS):
        pytest.skip("/etc/netns holds entries of others here: a machine without it cannot be had")
    if existed:
        os.rmdir(ETC_NETNS)
    try:
        yield
    finally:
        if existed:
            os.makedirs(ETC_NETNS, exist_ok=True)


def _not_docker(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not DOCKER_OWNED.search(line))


def _not_docker_routes(text: str) -> str:
    """Routes without Docker's own: those it makes and removes with its bridges and veths
    (connected, local, broadcast, multicast: never through a gateway). A route through a
    gateway on a Docker bridge is someone's (the kind runtime's dockerHost routes), and
    is compared."""
    return "\n".join(line for line in text.splitlines()
                     if " via " in f" {line} " or not DOCKER_OWNED.search(line))


def _rules(program: str) -> str:
    # The save tools' comment lines carry timestamps, chains their packet counters
    # ([packets:bytes]); the rules are what matter.
    lines = (re.sub(r"\[\d+:\d+\]", "", line) for line in _run([program]).splitlines())
    return _not_docker("\n".join(line for line in lines if not line.startswith("#")))


def _nft() -> str:
    """The ruleset without counters (-s), and without Docker's chains and rules."""
    kept, chain = [], ""
    for line in _run(["nft", "-s", "list", "ruleset"]).splitlines():
        words = line.split()
        if words[:1] == ["chain"]:
            chain = words[1]
        if not chain.startswith("DOCKER") and not DOCKER_OWNED.search(line):
            kept.append(line)
        if words == ["}"]:
            chain = ""
    return "\n".join(kept)


def snapshot() -> Snapshot:
    return Snapshot(
        namespaces=_ours("/run/netns"),
        mounts=_mounts(),
        links=_links(),
        addresses=_not_docker(_run(["ip", "-o", "addr", "show"])),
        routes=_not_docker_routes(_run(["ip", "route", "show", "table", "all"])),
        routes6=_not_docker_routes(_run(["ip", "-6", "route", "show", "table", "all"])),
        rules=_run(["ip", "rule", "show"]) + _run(["ip", "-6", "rule", "show"]),
        nft=_nft(),
        iptables=_rules("iptables-save"),
        ip6tables=_rules("ip6tables-save"),
        sysctls=_sysctls(),
        processes=_kindscape_processes(),
        state=_tree(state_root()),
        etc_netns=_ours(ETC_NETNS),
        docker=_docker_objects(),
    )


# Docker objects a test or the kind runtime could leave: ours, KIND's, the test stand-in's.
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


def up_without_leaks(path):
    """A scenario up for a module-scoped fixture (`yield from up_without_leaks(...)`): after
    its `down` the machine must be as it was before its `up` (a function-scoped `no_leaks`
    would only see the machine with the scenario already up)."""
    import kindscape
    before = snapshot()
    lab = kindscape.up(path)
    try:
        yield lab
    finally:
        lab.down()
    assert snapshot().diff(before) == {}, f"{path} left something behind"
