"""`trace`: a new TCP connection from one endpoint to another, forward and back.

The forward path starts at the source's socket; when it is delivered, and something
listens there, the reply path starts at the receiver's socket, goes back to the (possibly
NATed) source, and must arrive as the source expects it (from the address it connected
to): otherwise the connection cannot complete, as the page's "the container will not be
able to answer to the Pod IP" case shows."""

from __future__ import annotations

from ..errors import KindscapeError
from ..endpoints import EndpointError
from ..plan.decide import Packet
from ..topology import Endpoint, IPAddr, Topology
from .kernel import Kernel
from .model import BY_SOCKET, DELIVERED, DROPPED, Path, TraceReport, policy_verdicts
from .walk import Conntrack, Walker
from .wiring import Wiring, resolve


def trace(topology: Topology, kernel: Kernel, source: str, target: str, port: int | None = None,
          address: str | None = None, protocol: str = "TCP") -> TraceReport:
    """Trace `source` → `target` (endpoint names or addresses); `address` picks one of the
    target's addresses (default: the first of a family the source has)."""
    wiring = Wiring(topology)
    origin, goal = _endpoint(topology, wiring, source), _endpoint(topology, wiring, target)
    if not origin.netns:
        raise KindscapeError(f"{source} cannot start a connection: trace from a pod, node, host "
                             "or docker-host")
    to_address = _pick_address(origin, goal, address)
    first = Packet(_bound_source(source, origin), to_address, port or goal.port, proto=protocol.lower())
    walker = Walker(topology, wiring, kernel)
    conntrack = Conntrack()
    forward = walker.walk(wiring.spots[origin.netns], first, conntrack)
    sent = forward.hops[0].packet  # as the origin's socket sent it, before any NAT
    report = TraceReport(topology.scenario, origin.name, goal.name, str(to_address), first.dport,
                         forward, from_address=str(sent.src or origin.addresses[0]), protocol=protocol)
    if forward.verdict == DELIVERED and forward.final is not None:
        _check_arrival(report, topology, goal, kernel)
    if forward.verdict == DELIVERED and forward.final is not None:
        landing = next(s for s in wiring.spots.values() if s.endpoint == forward.delivered_to)
        back = walker.walk(landing, forward.final.reply(), conntrack, reply=True)
        report.back = _check_reply(back, origin, sent, conntrack)
    report.warnings = walker.warnings
    report.policies = policy_verdicts(report, topology)
    return report


def _endpoint(topology: Topology, wiring: Wiring, selector: str) -> Endpoint:
    try:
        return resolve(topology, wiring, selector)
    except EndpointError as exc:
        raise KindscapeError(f"{exc}{'; ' + exc.hint if exc.hint else ''}") from None


def _pick_address(origin: Endpoint, goal: Endpoint, wanted: str | None) -> IPAddr:
    families = {a.version for a in origin.addresses}
    for candidate in goal.addresses:
        if (wanted is None and candidate.version in families) or str(candidate) == wanted:
            return candidate
    raise KindscapeError(f"{goal.name} has no address {wanted} to trace to" if wanted else
                         f"{goal.name} has no address of a family {origin.name} has")


def _bound_source(selector: str, origin: Endpoint) -> IPAddr | None:
    """A source given as an address binds the socket to it; by name, the kernel picks."""
    return origin.addresses[0] if selector == str(origin.addresses[0]) else None


def _check_arrival(report: TraceReport, topology: Topology, goal: Endpoint, kernel: Kernel) -> None:
    """Delivered to the namespace the target is in (or a Service's backend), and something
    listens on the port: else the connection is refused there."""
    forward = report.forward
    final = forward.final
    assert final is not None
    last = forward.hops[-1]
    if goal.kind == "service":
        backends = _backends(topology, goal.name)
        if forward.delivered_to not in backends:
            report.warnings.append(f"{goal.name} was delivered to {forward.delivered_to}, "
                                   f"which is not one of its backends")
    elif goal.netns and last.ns != goal.netns:
        report.warnings.append(f"delivered to {forward.delivered_to}, not to {goal.name}")
    protocol = report.protocol
    if not kernel.listening(last.ns, final.dst, final.dport, protocol):
        reason = f"{last.at}: nothing listens on {protocol} {final.dst}:{final.dport} (" + \
            ("the connection is refused)" if protocol == "TCP" else "an ICMP port unreachable answers)")
        last.note(BY_SOCKET, reason)
        last.verdict = forward.verdict = DROPPED
        forward.reason = reason
        forward.delivered_to = None
    else:
        last.note(BY_SOCKET, f"a socket listens on {protocol} {final.dst}:{final.dport}")


def _backends(topology: Topology, name: str) -> set[str]:
    cluster, _, namespace, service = name.split("/")
    for each in topology.cluster(cluster).services:
        if each.name == service and each.namespace == namespace:
            return set(each.backends)
    return set()


def _check_reply(back: Path, origin: Endpoint, sent: Packet, conntrack: Conntrack) -> Path:
    """The reply must reach the source's namespace addressed exactly as the connection
    was made; a NAT the reply did not pass back through leaves it unrecognisable."""
    if back.verdict != DELIVERED or back.final is None:
        return back
    expected = sent.reply()
    last = back.hops[-1]
    if last.ns != origin.netns:
        problem = f"the reply is delivered to {last.at}, not to {origin.name}"
    elif back.final.src != expected.src or back.final.dst != expected.dst:
        missed = ", ".join(e.spot.endpoint for e in conntrack.unused())
        problem = (f"{origin.name}: the reply comes from {back.final.src}, but the connection went to "
                   f"{expected.src}" + (f" (the reply does not pass back through {missed}, "
                                        "where the request was NATed)" if missed else ""))
    else:
        return back
    last.note(BY_SOCKET, problem)
    last.verdict = back.verdict = DROPPED
    back.reason = problem
    back.delivered_to = None
    return back
