"""Rules on interfaces' egress hooks (nft `netdev` tables), read as the kernel holds them:
issue 6's partitions (drop everything between two sides) and impairments (random loss,
and the tc class that shapes the rest). They change while a scenario is up (`kindscape
partition`, `heal`, `impair`), so this explainer reads the installed rules (the kernel's
JSON) instead of the scenario file, and evaluates the few matches they use: addresses
(`ip saddr`, `ip6 daddr`, sets, prefixes, `!=`), `numgen random` (loss) and `meta
priority set` (the tc class)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from ..plan.decide import Action, Decision, Hook, InstalledRule, Packet, Place
from ..topology import Topology


class NetdevEgress:
    def __init__(self, table: str):
        self.table = table  # "netdev kindscape-partition"

    def decide(self, topology: Topology, place: Place, hook: Hook,
               packet: Packet) -> tuple[Decision, ...] | None:
        if hook is not Hook.EGRESS:
            return None
        found: list[Decision] = []
        for rule in place.installed.rules:
            if (rule.table, rule.hook, rule.device) != (self.table, "egress", place.oif):
                continue
            decision = self._rule(rule, packet)
            if decision is not None:
                found.append(decision)
                if decision.action is Action.DROP:
                    break
        return tuple(found) or None

    def _rule(self, rule: InstalledRule, packet: Packet) -> Decision | None:
        chance, verdict, effect = None, "", ""
        for expr in json.loads(rule.expr):
            if "match" in expr and "payload" in expr["match"]["left"]:
                if not _matches(expr["match"], packet):
                    return None
            elif "match" in expr and "numgen" in expr["match"]["left"]:
                chance = expr["match"]["right"] / expr["match"]["left"]["numgen"]["mod"]
            elif "match" in expr:
                return Decision(self.table, rule.comment, Action.NOTE,
                                detail=f"a rule trace cannot evaluate (on {rule.device})")
            elif "drop" in expr:
                verdict = "drop"
            elif "mangle" in expr and expr["mangle"]["key"].get("meta", {}).get("key") == "priority":
                effect = f"shaped by tc class {expr['mangle']['value']}"
        if verdict == "drop" and chance is None:
            return Decision(self.table, rule.comment, Action.DROP)
        if verdict == "drop":
            return Decision(self.table, rule.comment, Action.NOTE, detail=f"dropped at random ({chance:.4%})")
        return Decision(self.table, rule.comment, Action.NOTE, detail=effect) if effect else None


def _matches(match: dict[str, Any], packet: Packet) -> bool:
    payload = match["left"]["payload"]
    family = 4 if payload.get("protocol") == "ip" else 6
    address = packet.src if payload.get("field") == "saddr" else packet.dst
    if address is None or address.version != family:
        return False
    inside = _contains(match["right"], address)
    return inside if match.get("op", "==") in ("==", "in") else not inside


def _contains(right: Any, address) -> bool:
    if isinstance(right, dict) and "set" in right:
        return any(_contains(item, address) for item in right["set"])
    if isinstance(right, dict) and "prefix" in right:
        prefix = right["prefix"]
        return address in ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}", strict=False)
    if isinstance(right, dict) and "range" in right:
        low, high = (ipaddress.ip_address(x) for x in right["range"])
        return low.version == address.version and low <= address <= high
    return isinstance(right, str) and ipaddress.ip_address(right) == address
