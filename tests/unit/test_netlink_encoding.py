"""The hand-packed rtnetlink messages are byte for byte what pyroute2's encoder (the
reference) makes of the same request: the kernel cannot tell them apart."""

from __future__ import annotations

import socket

import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg
from pyroute2.netlink.rtnl.ndtmsg import ndtmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from kindscape.linux import netlink, rtnl
from kindscape.linux.netlink import NetlinkSocket


def _ours(build) -> bytes:
    """The body (without nlmsghdr) of the one message `build` queues."""
    sock = NetlinkSocket(sock=None)  # type: ignore[arg-type]  # never sends: encoding only
    build(sock)
    assert sock.pending == 1
    return sock.parts[0][3]


def _reference(msg, **fields) -> bytes:
    for key, value in fields.items():
        msg[key] = value
    msg.encode()
    return bytes(msg.data)[16:]


def test_link_up_with_master() -> None:
    ours = _ours(lambda s: s.link_up("veth7", 1000))
    assert ours == _reference(ifinfmsg(), flags=1, change=1,
                              attrs=[("IFLA_IFNAME", "veth7"), ("IFLA_MASTER", 1000)])


def test_bridge_with_address() -> None:
    ours = _ours(lambda s: s.bridge("br-kind", 1000, mac="02:42:ac:12:00:01"))
    assert ours == _reference(ifinfmsg(), index=1000, flags=1, change=1, attrs=[
        ("IFLA_IFNAME", "br-kind"), ("IFLA_ADDRESS", "02:42:ac:12:00:01"),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]})])


def test_veth_with_peer_in_another_namespace() -> None:
    ours = _ours(lambda s: s.veth("eth0", "veth1", 7, 100000, peer_index=100001,
                                  mac="02:42:ac:12:00:02", peer_mac="0e:42:ac:12:00:02"))
    peer = {"index": 100001, "attrs": [("IFLA_IFNAME", "veth1"), ("IFLA_ADDRESS", "0e:42:ac:12:00:02"),
                                       ("IFLA_NET_NS_FD", 7)]}
    info = {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]})]}
    assert ours == _reference(ifinfmsg(), index=100000, flags=1, change=1, attrs=[
        ("IFLA_IFNAME", "eth0"), ("IFLA_ADDRESS", "02:42:ac:12:00:02"), ("IFLA_LINKINFO", info)])


def test_veth_with_one_queue_per_end() -> None:
    ours = _ours(lambda s: s.veth("eth0", "vpod1", 7, 100000, peer_index=100001, queues=1))
    peer = {"index": 100001, "attrs": [("IFLA_IFNAME", "vpod1"), ("IFLA_NUM_TX_QUEUES", 1),
                                       ("IFLA_NUM_RX_QUEUES", 1), ("IFLA_NET_NS_FD", 7)]}
    info = {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]})]}
    assert ours == _reference(ifinfmsg(), index=100000, flags=1, change=1, attrs=[
        ("IFLA_IFNAME", "eth0"), ("IFLA_NUM_TX_QUEUES", 1), ("IFLA_NUM_RX_QUEUES", 1), ("IFLA_LINKINFO", info)])


def test_altname() -> None:
    ours = _ours(lambda s: s.altname("lo", "kindscape.multi-cluster"))
    assert ours == _reference(ifinfmsg(), attrs=[
        ("IFLA_IFNAME", "lo"), ("IFLA_PROP_LIST", {"attrs": [("IFLA_ALT_IFNAME", "kindscape.multi-cluster")]})])


def test_ipv4_address() -> None:
    ours = _ours(lambda s: s.address(3, "172.18.0.2/16"))
    assert ours == _reference(ifaddrmsg(), family=socket.AF_INET, prefixlen=16, index=3,
                              attrs=[("IFA_LOCAL", "172.18.0.2"), ("IFA_ADDRESS", "172.18.0.2")])


def test_ipv6_address_skips_duplicate_detection() -> None:
    ours = _ours(lambda s: s.address(3, "fc00:f853:ccd:e793::2/64"))
    assert ours == _reference(ifaddrmsg(), family=socket.AF_INET6, prefixlen=64, index=3,
                              flags=rtnl.IFA_F_NODAD,
                              attrs=[("IFA_ADDRESS", "fc00:f853:ccd:e793::2"),
                                     ("IFA_FLAGS", rtnl.IFA_F_NODAD)])


@pytest.mark.parametrize("dst,gateway,oif,scope,family", [
    ("10.220.1.0/24", "172.18.0.5", 0, "", 4),
    ("default", "172.18.0.1", 100000, "", 4),
    ("10.110.1.2/32", "", 100002, "link", 4),
    ("fd00:10:244:1::/64", "fc00:f853:ccd:e793::5", 0, "", 6),
])
def test_routes(dst: str, gateway: str, oif: int, scope: str, family: int) -> None:
    ours = _ours(lambda s: s.route(dst, gateway, oif, scope, family))
    attrs: list = [("RTA_TABLE", 254)]
    fields = {"family": socket.AF_INET if family == 4 else socket.AF_INET6, "table": 254,
              "proto": 3, "type": 1, "scope": rtnl.SCOPES[scope]}
    if dst != "default":
        address, length = dst.split("/")
        fields["dst_len"] = int(length)
        attrs.append(("RTA_DST", address))
    if gateway:
        attrs.append(("RTA_GATEWAY", gateway))
    if oif:
        attrs.append(("RTA_OIF", oif))
    assert ours == _reference(rtmsg(), attrs=attrs, **fields)


@pytest.mark.parametrize("address,family", [("172.18.0.3", socket.AF_INET), ("fc00::3", socket.AF_INET6)])
def test_permanent_neighbour(address: str, family: int) -> None:
    ours = _ours(lambda s: s.neighbour(100000, address, "02:42:ac:12:00:03"))
    assert ours == _reference(ndmsg(), family=family, ifindex=100000, state=rtnl.NUD_PERMANENT,
                              attrs=[("NDA_DST", address), ("NDA_LLADDR", "02:42:ac:12:00:03")])


def test_ipv6_proxy_neighbour_without_delay() -> None:
    sock = NetlinkSocket(sock=None)  # type: ignore[arg-type]
    sock.neigh_proxy(100000, "fd00:1::1")
    proxy = _reference(ndmsg(), family=socket.AF_INET6, ifindex=100000, state=rtnl.NUD_PERMANENT,
                       flags=rtnl.NTF_PROXY, attrs=[("NDA_DST", "fd00:1::1")])
    table = _reference(ndtmsg(), family=socket.AF_INET6, attrs=[
        ("NDTA_NAME", "ndisc_cache"),
        ("NDTA_PARMS", {"attrs": [("NDTPA_IFINDEX", 100000), ("NDTPA_PROXY_DELAY", 0)]})])
    assert [part[3] for part in sock.parts] == [proxy, table]


def test_link_query() -> None:
    assert _ours(lambda s: s.sync_link(100002)) == _reference(ifinfmsg(), index=100002)


@pytest.mark.parametrize("dst,src,iif,oif,mark,fib_match", [
    ("10.220.1.2", "", 0, 0, 0, False),
    ("10.220.1.2", "10.110.1.2", 100003, 0, 0, True),
    ("fd00:10:244:1::2", "", 0, 100000, 7, False),
])
def test_route_query(dst, src, iif, oif, mark, fib_match) -> None:
    """`trace` asks the kernel how it routes a packet (`ip route get`)."""
    version = 6 if ":" in dst else 4
    attrs = [("RTA_DST", dst)] + ([("RTA_SRC", src)] if src else [])
    attrs += [(name, value) for name, value in (("RTA_IIF", iif), ("RTA_OIF", oif), ("RTA_MARK", mark)) if value]
    expected = _reference(rtmsg(), family=socket.AF_INET if version == 4 else socket.AF_INET6,
                          dst_len=32 if version == 4 else 128, src_len=(32 if version == 4 else 128) if src else 0,
                          flags=rtnl.RTM_F_FIB_MATCH if fib_match else 0, attrs=attrs)
    assert rtnl.route_query(dst, src, iif, oif, mark, fib_match) == expected


def test_route_answer_decodes_as_pyroute2_does() -> None:
    answer = rtmsg()
    for key, value in dict(family=socket.AF_INET, dst_len=24, table=254, proto=3, scope=0, type=1).items():
        answer[key] = value
    answer["attrs"] = [("RTA_TABLE", 254), ("RTA_DST", "10.220.1.0"), ("RTA_GATEWAY", "172.18.0.5"),
                       ("RTA_OIF", 100000), ("RTA_PREFSRC", "172.18.0.3")]
    answer.encode()
    decoded = rtnl.route_answer(bytes(answer.data)[16:])
    assert decoded == rtnl.RouteAnswer(type=1, table=254, dst="10.220.1.0", dst_len=24,
                                          gateway="172.18.0.5", oif=100000, prefsrc="172.18.0.3")


def test_failures_are_described_only_when_they_happen() -> None:
    calls = []
    sock = NetlinkSocket(sock=None)  # type: ignore[arg-type]
    sock.route("10.0.0.0/8", "172.18.0.9", what=lambda: calls.append(1) or "ip route add 10.0.0.0/8")
    assert calls == [] and sock.pending == 1
    assert netlink.describe(sock.whats[0]) == "ip route add 10.0.0.0/8" and calls == [1]
