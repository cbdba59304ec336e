"""Link impairments and partitions as operations: pure, like the rest of the planner.

Traffic between two sides is impaired where it leaves each side (see `sides.exits`), in
both directions, and nowhere else:
- an nftables `netdev` table per namespace has an egress chain on each exit interface;
  a rule matching (source in this side, destination in the other) drops at random for
  `loss` and sets the packet's tc class (`meta priority set 1:N`) for the rest;
- tc: an htb root on the interface (no default class: unmatched traffic is sent
  unshaped), one class per impaired peer with the `rate`, and a netem leaf on that class
  for delay, jitter, duplicate, corrupt and reorder;
- a partition is a second table whose rules drop all traffic of the pair.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import measures, sides
from ..topology import Impairment, Topology
from .linux_ops import Phase

IMPAIR_TABLE = "kindscape-impair"
PARTITION_TABLE = "kindscape-partition"
FIRST_CLASS = 10  # htb class minor numbers start here: 1:10, 1:11, ...
UNLIMITED_BIT = measures.MAX_RATE_BIT  # the class of a peer with netem settings but no rate
NETEM_LIMIT = 100_000  # packets a netem leaf may hold (delay x rate can exceed netem's 1,000)
LOSS_SCALE = 1_000_000  # numgen draws from 0..999,999: 0.0001% steps


@dataclass(frozen=True)
class Shaping:
    """tc on one interface: htb root, a class per impaired peer, netem leaves. Applied as
    one `tc -batch` per namespace."""

    ns: str
    dev: str
    commands: tuple[str, ...]
    comment: str = ""
    phase = Phase.IMPAIRMENTS


@dataclass(frozen=True)
class LinkRules:
    """An nftables `netdev` table in one namespace (egress chains on exit interfaces),
    applied atomically with `nft -f`."""

    ns: str
    table: str
    text: str
    comment: str = ""
    phase = Phase.IMPAIRMENTS


LinkOp = Shaping | LinkRules


class NamespaceChange(NamedTuple):
    """What takes one namespace's links from what may be in place to what is desired."""

    ns: str
    tc: str  # a `tc -batch` script
    nft: str  # an `nft -f` script


def changes(desired: list[LinkOp], previous: list[LinkOp]) -> list[NamespaceChange]:
    """The namespaces whose links differ between `previous` and `desired`, each with the
    scripts that reset the previous and make the desired (see linux/shaping.py)."""
    names = list(dict.fromkeys(op.ns for op in previous + desired))
    found = []
    for ns in names:
        then, now = _of(previous, ns), _of(desired, ns)
        if then != now:
            found.append(NamespaceChange(ns, tc_batch(now, then), nft_script(now, then)))
    return found


def _of(found: list[LinkOp], ns: str) -> list[LinkOp]:
    return [op for op in found if op.ns == ns]


def tc_batch(desired: list[LinkOp], previous: list[LinkOp]) -> str:
    """Reset every interface shaped before, then shape as desired."""
    lines = []
    for dev in dict.fromkeys(op.dev for op in previous if isinstance(op, Shaping)):
        # Replacing any root with pfifo, then deleting it, leaves the default qdisc.
        lines += [f"qdisc replace dev {dev} root pfifo", f"qdisc del dev {dev} root"]
    for op in desired:
        if isinstance(op, Shaping):
            lines += op.commands
    return "".join(line + "\n" for line in lines)


def nft_script(desired: list[LinkOp], previous: list[LinkOp]) -> str:
    """One atomic transaction: drop the tables there were, create the desired ones."""
    text = ""
    for table in dict.fromkeys(op.table for op in previous if isinstance(op, LinkRules)):
        text += f"table netdev {table}\ndelete table netdev {table}\n"
    for op in desired:
        if isinstance(op, LinkRules):
            text += op.text
    return text



@dataclass(frozen=True)
class Flow:
    """One direction of one pair, on one exit interface. The interface and the addresses
    are what the topology says, or what a runtime stands in for them (see `link_ops`)."""

    ns: str
    dev: Any  # an interface's name, or what stands for it
    sources: sides.Addresses
    targets: sides.Addresses
    label: str  # "cluster-a -> cluster-b"
    impairment: Impairment | None = None  # None: a partition


def same_name(ns: str, table: str) -> str:
    """A link table's name in a namespace: IMPAIR_TABLE or PARTITION_TABLE as they are."""
    return table


def literal(value: Any) -> str:
    """An address, prefix or interface name as nft and tc take it (an address: no /32)."""
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return str(value.network_address) if value.prefixlen == value.max_prefixlen else str(value)
    return str(value)


def plan_links(topology: Topology, impairments: tuple[Impairment, ...],
               partitions: tuple[tuple[str, str], ...] = (),
               table_name: Callable[[str, str], str] = same_name) -> list[LinkOp]:
    """Every operation that puts these impairments and partitions in place (see `link_ops`)."""
    return link_ops(flows(topology, impairments, partitions), table_name)


def flows(topology: Topology, impairments: tuple[Impairment, ...],
          partitions: tuple[tuple[str, str], ...] = (), exact: bool = False) -> list[Flow]:
    """Every flow the impairments and partitions act on (`exact`: each side's addresses
    as sides.addresses gives them exactly, for a runtime to stand values in for some)."""
    return ([f for item in impairments for f in _pair_flows(topology, item.sides, item, exact)]
            + [f for pair in partitions for f in _pair_flows(topology, pair, None, exact)])


def link_ops(found: list[Flow], table_name: Callable[[str, str], str] = same_name,
             text: Callable[[Any], str] = literal) -> list[LinkOp]:
    """The operations that act on these flows, grouped by namespace (tc first, then the
    tables), in a stable order. `table_name(ns, table)` names each table (a runtime
    sharing a namespace with others names its own); `text` writes each interface and
    address (a runtime's plan may write what stands for one)."""
    impaired = [f for f in found if f.impairment is not None]
    cut = [f for f in found if f.impairment is None]
    ops: list[LinkOp] = []
    for ns in _namespaces(found):
        mine = [f for f in impaired if f.ns == ns]
        classes = _classes(mine)
        for dev in _devices(mine):
            commands = _tc_commands(text(dev), [f for f in mine if f.dev == dev], classes)
            if commands:
                ops.append(Shaping(ns, text(dev), tuple(commands), f"impairments leaving {ns} on {text(dev)}"))
        if mine:
            name = table_name(ns, IMPAIR_TABLE)
            ops.append(LinkRules(ns, name, _table(name, mine, classes, text), "impairments: loss and tc classes"))
        cuts = [f for f in cut if f.ns == ns]
        if cuts:
            name = table_name(ns, PARTITION_TABLE)
            ops.append(LinkRules(ns, name, _table(name, cuts, {}, text),
                                 "partitions: drop everything between the sides"))
    return ops


def _pair_flows(topology: Topology, pair: tuple[str, str], impairment: Impairment | None,
                exact: bool) -> list[Flow]:
    catalog = sides.Catalog.of(topology)
    one, other = sides.parse(pair[0], catalog), sides.parse(pair[1], catalog)
    mine, theirs = sides.crossing(topology, one, other, exact)
    found = []
    for src, dst, sources, targets in ((one, other, mine, theirs), (other, one, theirs, mine)):
        label = f"{src.name} -> {dst.name}"
        for ns, dev in sides.exits(topology, src, dst):
            found.append(Flow(ns, dev, sources, targets, label, impairment))
    return found


def _namespaces(flows: list[Flow]) -> list[str]:
    return list(dict.fromkeys(f.ns for f in flows))


def _devices(flows: list[Flow]) -> list:
    return list(dict.fromkeys(f.dev for f in flows))


def _needs_class(item: Impairment | None) -> bool:
    return item is not None and bool(item.rate or _netem_args(item))


def _classes(flows: list[Flow]) -> dict[Flow, int]:
    """The htb class minor of each flow that is shaped, numbered per interface."""
    numbers: dict[Flow, int] = {}
    for dev in _devices(flows):
        shaped = [f for f in flows if f.dev == dev and _needs_class(f.impairment)]
        numbers.update({f: FIRST_CLASS + n for n, f in enumerate(shaped)})
    return numbers


def _tc_commands(dev: str, flows: list[Flow], classes: dict[Flow, int]) -> list[str]:
    shaped = [f for f in flows if f in classes]
    if not shaped:
        return []
    commands = [f"qdisc add dev {dev} root handle 1: htb"]
    for flow in shaped:
        item, minor = flow.impairment, classes[flow]
        assert item is not None
        rate = measures.format_rate(item.rate or UNLIMITED_BIT)
        quantum = min(max((item.rate or UNLIMITED_BIT) // 80, 1514), 200_000)  # htb's r2q=10, bounded
        commands.append(f"class add dev {dev} parent 1: classid 1:{minor} htb rate {rate} ceil {rate} "
                        f"quantum {quantum}")
        netem = _netem_args(item)
        if netem:
            commands.append(f"qdisc add dev {dev} parent 1:{minor} handle {minor}: netem "
                            f"limit {NETEM_LIMIT} {netem}")
    return commands


def _netem_args(item: Impairment) -> str:
    parts = []
    if item.delay:
        parts.append(f"delay {measures.format_duration(item.delay)}"
                     + (f" {measures.format_duration(item.jitter)}" if item.jitter else ""))
    for name in ("duplicate", "corrupt", "reorder"):
        value = getattr(item, name)
        if value:
            parts.append(f"{name} {measures.format_percent(value)}")
    return " ".join(parts)


def _table(name: str, flows: list[Flow], classes: dict[Flow, int], text: Callable[[Any], str]) -> str:
    lines = [f"table netdev {name} {{"]
    for dev in _devices(flows):
        lines += [f"  chain {_chain(text(dev))} {{",
                  f'    type filter hook egress device "{text(dev)}" priority 0; policy accept;']
        for flow in (f for f in flows if f.dev == dev):
            lines += [f"    {match} {action}" for match in _matches(flow, text)
                      for action in _actions(flow, classes.get(flow))]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _chain(dev: str) -> str:
    return "egress_" + "".join(c if c.isalnum() else "_" for c in dev)


def _matches(flow: Flow, text: Callable[[Any], str]) -> list[str]:
    """One match per address family the side that is not "everything but" has (IPv4, IPv6)."""
    found = []
    for version, keyword in ((4, "ip"), (6, "ip6")):
        sources, targets = flow.sources.of_family(version), flow.targets.of_family(version)
        if sources and targets:
            found.append(f"{keyword} saddr {_set(flow.sources, sources, text)} "
                         f"{keyword} daddr {_set(flow.targets, targets, text)}")
    return found


def _set(addresses: sides.Addresses, nets: list, text: Callable[[Any], str]) -> str:
    written = "{ " + ", ".join(map(text, nets)) + " }"
    return f"!= {written}" if addresses.exclude else written


def _actions(flow: Flow, minor: int | None) -> list[str]:
    item = flow.impairment
    if item is None:
        return [f'drop comment "partition: {flow.label}"']
    found = []
    if item.loss:
        threshold = round(item.loss * LOSS_SCALE / 100)
        found.append(f"numgen random mod {LOSS_SCALE} < {threshold} drop "
                     f'comment "loss {measures.format_percent(item.loss)}: {flow.label}"')
    if minor is not None:
        found.append(f'meta priority set 1:{minor} comment "{_summary(item)}: {flow.label}"')
    return found


def _summary(item: Impairment) -> str:
    return " ".join(f"{f.name} {f.show(getattr(item, f.name))}" for f in measures.FIELDS
                    if getattr(item, f.name) and f.name != "loss")


# Kernel features (named as linux/features.py names them) ------------------------------
def requirements(item: Impairment | None) -> dict[str, list[str]]:
    """The kernel features an impairment (None: a partition) needs, each with the
    settings that need it: every pair needs the egress hook; rate and netem's settings
    need htb (the per-peer classes); delay, jitter, duplicate, corrupt, reorder need netem."""
    if item is None:
        return {"egress": ["partition"]}
    settings = [f.name for f in measures.FIELDS if getattr(item, f.name)]
    found = {"egress": settings}
    shaped = [f.name for f in measures.FIELDS if getattr(item, f.name) and (f.needs_netem or f.name == "rate")]
    if shaped:
        found["htb"] = shaped
    netem = [f.name for f in measures.FIELDS if getattr(item, f.name) and f.needs_netem]
    if netem:
        found["netem"] = netem
    return found
