"""The netfilter hooks and the actions of rules: the words in which rulesets are written
(nftables.py, rules.py) and explained (decide.py). Apart from decide.py's types so that
writing a ruleset, as `up` does, does not load what only `trace` uses."""

from __future__ import annotations

from enum import Enum


class Hook(str, Enum):
    """Netfilter hooks in the order a packet meets them (nat chains see a connection's first
    packet only; conntrack undoes their NAT on the replies)."""

    PREROUTING = "prerouting"  # arriving, before the route lookup: DNAT
    OUTPUT = "output"  # made by a local socket, after the route lookup: DNAT, filter
    INPUT = "input"  # for a local socket
    FORWARD = "forward"  # routed (or bridged, with br_netfilter) through
    POSTROUTING = "postrouting"  # leaving: SNAT, masquerade
    EGRESS = "egress"  # netdev egress of the interface it leaves by: the packet as it goes on the wire


class Action(str, Enum):
    ACCEPT = "accept"  # a rule matched and let it pass unchanged (e.g. a masquerade exception)
    DROP = "drop"
    MASQUERADE = "masquerade"  # SNAT to the outgoing interface's address (the kernel picks it)
    SNAT = "snat"
    DNAT = "dnat"
    MARK = "mark"  # set bits of the packet's mark (`meta mark set meta mark | X`), for later rules
    NOTE = "note"  # nothing changes, but the packet crosses something worth saying (an impairment)
