"""`trace`'s questions answered by the kernel of each namespace: RTM_GETROUTE through an
rtnetlink socket opened inside it, the nft ruleset it holds (`nft -j list ruleset`), its
listening TCP sockets and its sysctls (read by a thread inside it)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace

from ...errors import KindscapeError
from ...runner import run
from ...topology import IPAddr
from ...trace.kernel import ROUTE_TYPES, TABLE_NAMES, Route, RouteRefused
from ...plan.decide import InstalledRule, InstalledRuleset
from ...linux import nsfs
from ...linux.netlink import NetlinkSocket, RouteAnswer

TCP_LISTEN = "0A"
UDP_BOUND = "07"  # an unconnected UDP socket: /proc/net/udp shows it as TCP_CLOSE


class NetnsKernel:
    """One per trace: sockets and answers are cached per namespace; `close` releases them."""

    def __init__(self) -> None:
        self._sockets: dict[str, NetlinkSocket] = {}
        self._links: dict[str, dict[str, int]] = {}
        self._rulesets: dict[str, InstalledRuleset] = {}

    def __enter__(self) -> "NetnsKernel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def _socket(self, ns: str) -> NetlinkSocket:
        if ns not in self._sockets:
            if not nsfs.exists(ns):
                raise KindscapeError(f"namespace {ns} does not exist: is the scenario up? "
                                     "(`kindscape status` says what is wrong)")
            self._sockets[ns] = nsfs.run_in_namespace(ns, NetlinkSocket.open)
        return self._sockets[ns]

    def _index(self, ns: str, name: str) -> int:
        if name == "lo":
            return 1
        links = self._links.get(ns)
        if links is None or name not in links:
            links = self._links[ns] = self._socket(ns).link_indexes()
        if name not in links:
            raise KindscapeError(f"no interface {name} in namespace {ns}")
        return links[name]

    def _name(self, ns: str, index: int) -> str:
        if not index:
            return ""
        for _ in range(2):
            links = self._links.setdefault(ns, {})
            for name, found in links.items():
                if found == index:
                    return name
            self._links[ns] = self._socket(ns).link_indexes()
        return f"if{index}"

    def route(self, ns: str, dst: IPAddr, src: IPAddr | None = None, iif: str = "",
              oif: str = "", mark: int = 0) -> Route:
        sock = self._socket(ns)
        query = {"dst": str(dst), "src": str(src) if src else "", "mark": mark,
                 "iif": self._index(ns, iif) if iif else 0, "oif": self._index(ns, oif) if oif else 0}
        try:
            answer = sock.route_get(**query)
            matched = sock.route_get(**query, fib_match=True)
        except OSError as exc:
            raise RouteRefused(exc.errno or 0, exc.strerror or str(exc)) from None
        return Route(kind=ROUTE_TYPES.get(answer.type, str(answer.type)),
                     table=TABLE_NAMES.get(matched.table, str(matched.table)),
                     prefix=_prefix(matched, answer), gateway=_address(answer.gateway),
                     oif=self._name(ns, answer.oif), prefsrc=_address(answer.prefsrc))

    def installed(self, ns: str) -> InstalledRuleset:
        if ns not in self._rulesets:
            nft = ["nsenter", f"--net={nsfs.path_of(ns)}", "nft"]
            found = parse_ruleset(run(nft + ["-j", "list", "ruleset"]).stdout)
            if any(rule.table.startswith("netdev ") for rule in found.rules):
                # nft's JSON leaves out a netdev chain's device: its text says it.
                found = with_devices(found, run(nft + ["list", "chains"]).stdout)
            self._rulesets[ns] = found
        return self._rulesets[ns]

    def listening(self, ns: str, address: IPAddr, port: int, protocol: str = "TCP") -> bool:
        name = "udp" if protocol == "UDP" else "tcp"

        def look() -> bool:
            return any(_listens(path, address, port, UDP_BOUND if name == "udp" else TCP_LISTEN)
                       for path in (f"/proc/thread-self/net/{name}", f"/proc/thread-self/net/{name}6"))
        return nsfs.run_in_namespace(ns, look)

    def sysctl(self, ns: str, key: str) -> str | None:
        def read() -> str | None:
            try:
                return nsfs.read_sysctl(key)
            except FileNotFoundError:
                return None
        return nsfs.run_in_namespace(ns, read)


def parse_ruleset(text: str) -> InstalledRuleset:
    """`nft -j list ruleset` → tables ("inet kindnet") with their rules' comments, and the
    rules with where they sit (base chain hook, netdev device) and their expressions."""
    tables: dict[str, set[str]] = {}
    chains: dict[tuple[str, str], tuple[str, str]] = {}
    rules: list[InstalledRule] = []
    for item in json.loads(text or "{}").get("nftables", []):
        if "table" in item:
            tables.setdefault(f"{item['table']['family']} {item['table']['name']}", set())
        elif "chain" in item:
            chain = item["chain"]
            chains[(f"{chain['family']} {chain['table']}", chain["name"])] = \
                (chain.get("hook", ""), chain.get("dev", ""))
        elif "rule" in item:
            rule = item["rule"]
            table = f"{rule['family']} {rule['table']}"
            hook, device = chains.get((table, rule["chain"]), ("", ""))
            comment = rule.get("comment", "")
            tables.setdefault(table, set()).update([comment] if comment else [])
            rules.append(InstalledRule(table, rule["chain"], hook, device, comment,
                                       json.dumps(rule.get("expr", []))))
    return InstalledRuleset({name: frozenset(found) for name, found in tables.items()}, tuple(rules))


def with_devices(found: InstalledRuleset, chains_text: str) -> InstalledRuleset:
    """Fill in the device of netdev chains from `nft list chains`."""
    devices: dict[tuple[str, str], str] = {}
    table = chain = ""
    for line in chains_text.splitlines():
        words = line.split()
        if words[:1] == ["table"] and len(words) >= 3:
            table = f"{words[1]} {words[2]}"
        elif words[:1] == ["chain"] and len(words) >= 2:
            chain = words[1]
        elif "device" in words:
            devices[(table, chain)] = words[words.index("device") + 1].strip('",;')
    rules = tuple(replace(r, device=r.device or devices.get((r.table, r.chain), "")) for r in found.rules)
    return replace(found, rules=rules)


def _prefix(matched: RouteAnswer, answer: RouteAnswer) -> str:
    if matched.dst is None:
        return "default" if matched.dst_len == 0 else str(answer.dst)
    bits = ipaddress.ip_address(matched.dst).max_prefixlen
    return matched.dst if matched.dst_len == bits else f"{matched.dst}/{matched.dst_len}"


def _address(value: str | None) -> IPAddr | None:
    return ipaddress.ip_address(value) if value else None


def _listens(path: str, address: IPAddr, port: int, listening: str) -> bool:
    """A LISTEN (TCP; UDP: unconnected) socket on the port, bound to the wildcard or to the address (a dual-stack
    IPv6 wildcard socket also takes IPv4 connections)."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()[1:]
    except FileNotFoundError:
        return False
    for line in lines:
        fields = line.split()
        local, state = fields[1], fields[3]
        hex_address, _, hex_port = local.partition(":")
        if state != listening or int(hex_port, 16) != port:
            continue
        bound = _proc_address(hex_address)
        if bound.is_unspecified or bound == address or getattr(bound, "ipv4_mapped", None) == address:
            return True
    return False


def _proc_address(text: str) -> IPAddr:
    """/proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)
