"""One direction of a trace, hop by hop: at each namespace the netfilter hooks in the
kernel's order (rules from the tool's own rulesets), the route from the kernel
(RTM_GETROUTE), and where the chosen interface and next hop lead (topology, confirmed by
asking the next namespace's kernel that it holds the address)."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field, replace

from ..plan.decide import Action, Decision, Hook, Packet, Place
from ..topology import DOCKER_HOST, Topology
from .kernel import Kernel, Route, RouteRefused
from .model import (BY_CONNTRACK, BY_ROUTE, BY_RP_FILTER, BY_WIRING, DELIVERED, DROPPED, LOOP,
                    Hop, Path)
from . import rulesets
from .wiring import Landing, Spot, Wiring

MAX_HOPS = 32
NAT_ACTIONS = (Action.DNAT, Action.SNAT, Action.MASQUERADE)


@dataclass
class NatEntry:
    """NAT applied to a connection's first packet in one namespace; conntrack undoes it on
    the replies that pass through the same namespace."""

    spot: Spot
    before: Packet
    after: Packet
    used: bool = False


@dataclass
class Conntrack:
    entries: list[NatEntry] = field(default_factory=list)

    def reply_at(self, ns: str, packet: Packet) -> NatEntry | None:
        for entry in self.entries:
            expected = entry.after.reply()
            if entry.spot.ns == ns and (packet.src, packet.dst, packet.sport, packet.dport) == \
                    (expected.src, expected.dst, expected.sport, expected.dport):
                return entry
        return None

    def unused(self) -> list[NatEntry]:
        return [e for e in self.entries if not e.used]


@dataclass
class _End:
    verdict: str
    reason: str | None
    packet: Packet


class Walker:
    def __init__(self, topology: Topology, wiring: Wiring, kernel: Kernel):
        self.topology = topology
        self.wiring = wiring
        self.kernel = kernel
        self.warnings: list[str] = []
        self._seen_ns: set[str] = set()

    def walk(self, start: Spot, packet: Packet, conntrack: Conntrack, reply: bool = False) -> Path:
        hops: list[Hop] = []
        seen: set[tuple] = set()
        spot, iif = start, ""
        for _ in range(MAX_HOPS):
            hop = Hop(spot.endpoint, spot.ns, iif, packet)
            hops.append(hop)
            outcome = self._hop(hop, spot, packet, conntrack, reply)
            if isinstance(outcome, _End):
                hop.verdict = outcome.verdict
                delivered = spot.endpoint if outcome.verdict == DELIVERED else None
                return Path(hops, outcome.verdict, outcome.reason, outcome.packet, delivered)
            landing, packet = outcome
            key = (landing.spot.ns, landing.iif, packet.src, packet.dst)
            if key in seen:
                hop.verdict = LOOP
                route = " → ".join(h.at for h in hops) + f" → {landing.spot.endpoint}"
                return Path(hops, LOOP, f"loop: {route} (the same packet comes back to "
                                         f"{landing.spot.endpoint})", packet)
            seen.add(key)
            spot, iif = landing.spot, landing.iif
        hops[-1].verdict = LOOP
        return Path(hops, LOOP, f"loop: more than {MAX_HOPS} hops", packet)

    # One namespace --------------------------------------------------------------
    def _hop(self, hop: Hop, spot: Spot, packet: Packet, conntrack: Conntrack,
             reply: bool) -> _End | tuple[Landing, Packet]:
        self._check_tables(spot)
        origin = not hop.iif
        pending: NatEntry | None = None
        if reply:
            packet, pending = self._restore_dst(hop, spot, packet, conntrack)
        if not origin:
            packet, end = self._hooks(hop, self._place(spot, hop.iif, "", reply), Hook.PREROUTING, packet)
            if end:
                return end
        route = self._route(hop, spot, packet)
        if isinstance(route, _End):
            return route
        if packet.src is None:
            packet = hop.packet = packet.with_(src=route.prefsrc)  # the socket's source address
        before = packet
        if origin:
            packet, end = self._hooks(hop, self._place(spot, "", route.oif, reply), Hook.OUTPUT, packet)
            if end:
                return end
            if packet.dst != before.dst:
                route = self._route(hop, spot, packet)
                if isinstance(route, _End):
                    return route
        if route.kind == "local":
            return self._arrive(hop, spot, packet, pending, reply)
        if route.kind != "unicast":
            return _End(DROPPED, f"{spot.endpoint}: {route.kind} route to {packet.dst}", packet)
        return self._leave(hop, spot, packet, route, pending, conntrack, reply)

    def _leave(self, hop: Hop, spot: Spot, packet: Packet, route: Route,
               pending: NatEntry | None, conntrack: Conntrack, reply: bool) -> _End | tuple[Landing, Packet]:
        place = self._place(spot, hop.iif, route.oif, reply)
        if hop.iif:
            packet, end = self._hooks(hop, place, Hook.FORWARD, packet)
            if end:
                return end
        nexthop = route.gateway or packet.dst
        packet, end = self._hooks(hop, place, Hook.POSTROUTING, packet, route, nexthop)
        if end:
            return end
        if pending is not None:
            packet = self._restore_src(hop, pending, packet)
        elif not reply and packet != hop.packet:  # NATed here: as it came in, or as the socket sent it
            conntrack.entries.append(NatEntry(spot, hop.packet, packet))
        packet, end = self._hooks(hop, place, Hook.EGRESS, packet)
        if end:
            return end
        landing = self._land(hop, spot, route, nexthop, packet, reply)
        if isinstance(landing, _End):
            return landing
        # Crossing into another namespace (a veth) scrubs the packet's mark, as the
        # kernel's skb_scrub_packet does: kube-proxy's masquerade mark stays behind.
        return landing, packet.with_(mark=0)

    def _arrive(self, hop: Hop, spot: Spot, packet: Packet, pending: NatEntry | None,
                reply: bool) -> _End:
        packet, end = self._hooks(hop, self._place(spot, hop.iif, "", reply), Hook.INPUT, packet)
        if end:
            return end
        if pending is not None:
            packet = self._restore_src(hop, pending, packet)
        return _End(DELIVERED, None, packet)

    # The kernel's routing ---------------------------------------------------------
    def _route(self, hop: Hop, spot: Spot, packet: Packet) -> Route | _End:
        try:
            route = self.kernel.route(spot.ns, packet.dst, packet.src, hop.iif, mark=packet.mark)
        except RouteRefused as exc:
            by, reason = self._refused(hop, spot, packet, exc)
            hop.note(by, reason)
            return _End(DROPPED, reason, packet)
        hop.route, hop.oif = route.text(), (route.oif if route.kind != "local" else None)
        hop.gateway = str(route.gateway) if route.gateway else None
        hop.note(BY_ROUTE, f"route {route.text()}")
        return route

    def _refused(self, hop: Hop, spot: Spot, packet: Packet, exc: RouteRefused) -> tuple[str, str]:
        if exc.code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return BY_ROUTE, f"{spot.endpoint}: no route to {packet.dst}"
        if exc.code == errno.EACCES:
            return BY_ROUTE, f"{spot.endpoint}: the route to {packet.dst} is prohibited"
        if exc.code == errno.EINVAL and hop.iif and packet.src is not None:
            return self._reverse_path(hop, spot, packet)
        return BY_ROUTE, f"{spot.endpoint}: the kernel refuses to route to {packet.dst} ({exc})"

    def _reverse_path(self, hop: Hop, spot: Spot, packet: Packet) -> tuple[str, str]:
        """The input lookup refused a packet (EINVAL): ask the kernel for the route back
        to its source, as strict reverse-path filtering does."""
        assert packet.src is not None
        try:
            back = self.kernel.route(spot.ns, packet.src)
        except RouteRefused:
            return BY_RP_FILTER, f"{spot.endpoint}: rp_filter drops it: no route back to {packet.src}"
        if back.kind == "local":
            return BY_ROUTE, f"{spot.endpoint}: drops it: its source {packet.src} is a local address (martian)"
        mode = 0  # IPv6 has no rp_filter sysctl (reverse-path checks there are nft fib rules)
        if packet.src.version == 4:
            mode = max(_int(self.kernel.sysctl(spot.ns, "net.ipv4.conf.all.rp_filter")),
                       _int(self.kernel.sysctl(spot.ns, f"net.ipv4.conf.{hop.iif}.rp_filter")))
        if mode == 1 and back.oif != hop.iif:
            return BY_RP_FILTER, (f"{spot.endpoint}: strict rp_filter drops it: it came in on {hop.iif}, "
                                  f"but the route back to {packet.src} ({back.text()}) leaves by {back.oif}")
        return BY_ROUTE, f"{spot.endpoint}: the kernel refuses it as arriving on {hop.iif} (martian)"

    def _land(self, hop: Hop, spot: Spot, route: Route, nexthop, packet: Packet,
              reply: bool) -> Landing | _End:
        landing = self.wiring.land(spot.ns, route.oif, nexthop)
        if isinstance(landing, str):
            hop.note(BY_WIRING, landing)
            return _End(DROPPED, landing, packet)
        there = landing.spot
        try:
            holds = self.kernel.route(there.ns, nexthop).kind == "local"
        except RouteRefused:
            holds = False
        if not holds:
            reason = f"{spot.endpoint}: {there.endpoint} does not hold {nexthop} (its kernel says so)"
            hop.note(BY_WIRING, reason)
            return _End(DROPPED, reason, packet)
        how = f"on network {landing.network}" if landing.network else "over the veth"
        hop.note(BY_WIRING, f"next hop {nexthop} is {there.endpoint} ({how}, arrives on {landing.iif})")
        hop.next = there.endpoint
        if landing.bridge:
            hop.note(BY_WIRING, f"switched by {landing.bridge} in docker-host (not routed there)")
            end = self._bridged(hop, landing, packet, reply)
            if end:
                return end
        if landing.port:
            ns = self.topology.docker_host.netns
            place = Place(ns, DOCKER_HOST, "docker-host", landing.bridge, landing.port, reply, bool(landing.bridge))
            packet, end = self._hooks(hop, place, Hook.EGRESS, packet)
            if end:
                return end
        return landing

    def _bridged(self, hop: Hop, landing: Landing, packet: Packet, reply: bool) -> _End | None:
        """docker-host's bridge switches the frame; with br_netfilter on (ask the kernel) the
        frame also crosses docker-host's netfilter hooks, in and out by the bridge."""
        ns = self.topology.docker_host.netns
        key = "net.bridge.bridge-nf-call-" + ("iptables" if packet.dst.version == 4 else "ip6tables")
        if self.kernel.sysctl(ns, key) != "1":
            return None
        spot = self.wiring.spots[ns]
        self._check_tables(spot)
        place = Place(ns, spot.endpoint, spot.role, landing.bridge, landing.bridge,
                      reply=reply, bridged=True)
        for item in (Hook.PREROUTING, Hook.FORWARD, Hook.POSTROUTING):
            packet, end = self._hooks(hop, place, item, packet)
            if end:
                return end
        return None

    # Rules --------------------------------------------------------------------------
    def _place(self, spot: Spot, iif: str, oif: str, reply: bool) -> Place:
        return Place(spot.ns, spot.endpoint, spot.role, iif, oif, reply)

    def _hooks(self, hop: Hop, place: Place, hook: Hook, packet: Packet, route: Route | None = None,
               nexthop=None) -> tuple[Packet, _End | None]:
        installed = self.kernel.installed(place.ns)
        place = replace(place, installed=installed)
        found = rulesets.consult(self.topology, installed, place, hook, packet, rulesets.EXPLAINERS)
        self.warnings += [w for w in found.warnings if w not in self.warnings]
        translated: set[str] = set()  # the first nat chain that translates an address wins
        for decision in found.decisions:
            where = hook.value + (f" on {place.oif}" if hook is Hook.EGRESS else "") + \
                (f" in {place.endpoint}" if place.endpoint != hop.at else "") + (", bridged" if place.bridged else "")
            if decision.action is Action.DROP:
                hop.note(decision.by, f"{where}: drop", decision.rule)
                return packet, _End(DROPPED, f"{place.endpoint}: dropped by {decision.by}: "
                                             f"{decision.rule}", packet)
            if decision.action is Action.MARK:
                packet = packet.with_(mark=packet.mark | decision.mark)
                hop.note(decision.by, f"{where}: mark {decision.mark:#x}", decision.rule)
                continue
            if decision.action in NAT_ACTIONS:
                side = "dst" if decision.action is Action.DNAT else "src"
                if place.reply or side in translated:
                    continue  # replies: conntrack undoes NAT; a second nat chain: the first won
                translated.add(side)
            packet, effect = self._nat(place, decision, packet, route, nexthop)
            if effect:
                hop.add_nat(f"{effect} by {decision.by}")
            hop.note(decision.by, f"{where}: {effect or decision.detail or decision.action.value}", decision.rule)
        return packet, None

    def _nat(self, place: Place, decision: Decision, packet: Packet, route: Route | None,
             nexthop) -> tuple[Packet, str | None]:
        """The packet after a NAT decision, and what changed ("masquerade a -> b")."""
        if decision.action is Action.DNAT and decision.to is not None:
            port = decision.to_port or packet.dport
            others = ", ".join(f"{a}:{p}" for a, p in decision.choices)
            effect = (f"dnat {packet.dst}:{packet.dport} -> {decision.to}:{port}"
                      + (f" (one of {others})" if others else ""))
            return packet.with_(dst=decision.to, dport=port), effect
        if decision.action in (Action.SNAT, Action.MASQUERADE):
            new = decision.to
            if decision.action is Action.MASQUERADE and route is not None:
                # The address masquerade picks: the kernel's source for the next hop by that interface.
                new = self.kernel.route(place.ns, nexthop, oif=route.oif, mark=packet.mark).prefsrc
            if new is not None and new != packet.src:
                return packet.with_(src=new), f"{decision.action.value} {packet.src} -> {new}"
        return packet, None

    def _restore_dst(self, hop: Hop, spot: Spot, packet: Packet,
                       conntrack: Conntrack) -> tuple[Packet, NatEntry | None]:
        """A reply entering a namespace that NATed the request: conntrack restores the
        destination before routing (and the source when it leaves)."""
        entry = conntrack.reply_at(spot.ns, packet)
        if entry is None:
            return packet, None
        entry.used = True
        original = entry.before.reply()
        if original.dst != packet.dst:
            effect = f"destination {packet.dst} -> {original.dst}"
            hop.add_nat(f"{effect} by {BY_CONNTRACK} (reply)")
            hop.note(BY_CONNTRACK, f"reply of the request NATed here: {effect}")
        return packet.with_(dst=original.dst, dport=original.dport), entry

    def _restore_src(self, hop: Hop, entry: NatEntry, packet: Packet) -> Packet:
        original = entry.before.reply()
        if original.src != packet.src:
            effect = f"source {packet.src} -> {original.src}"
            hop.add_nat(f"{effect} by {BY_CONNTRACK} (reply)")
            hop.note(BY_CONNTRACK, f"reply of the request NATed here: {effect}")
        return packet.with_(src=original.src, sport=original.sport)

    def _check_tables(self, spot: Spot) -> None:
        if spot.ns in self._seen_ns:
            return
        self._seen_ns.add(spot.ns)
        for table in rulesets.unexplained_tables(self.kernel.installed(spot.ns), rulesets.EXPLAINERS):
            self.warnings.append(f"{spot.endpoint}: nft table {table} is not explained by trace; "
                                 "what it does to the packet is not shown")


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
