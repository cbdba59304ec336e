"""The leak check's allowances are one-way: what the machine's first use makes may appear
(the /run/netns mount; dockerd's IPv6 forwarding and the kernel's anycast routes that
follow it), and is still a leak when it goes or changes back."""

from __future__ import annotations

from tests.machine import _switched_on_left_out, KERNEL_ANYCAST, SWITCHED_ON_ONCE

KEY = SWITCHED_ON_ONCE["sysctls"]


def test_ipv6_forwarding_switched_on_is_left_out():
    gone = ["net/ipv6/conf/all/forwarding=0", "net/ipv6/conf/eth0/forwarding=0"]
    new = ["net/ipv6/conf/all/forwarding=1", "net/ipv6/conf/eth0/forwarding=1"]
    assert _switched_on_left_out(gone, new, KEY) == ([], [])


def test_ipv6_forwarding_switched_off_or_other_settings_are_seen():
    off = (["net/ipv6/conf/all/forwarding=1"], ["net/ipv6/conf/all/forwarding=0"])
    assert _switched_on_left_out(*off, KEY) == off
    other = (["net/ipv4/ip_forward=0"], ["net/ipv4/ip_forward=1"])
    assert _switched_on_left_out(*other, KEY) == other
    half = (["net/ipv6/conf/all/forwarding=0", "net/ipv6/conf/all/accept_ra=1"],
            ["net/ipv6/conf/all/forwarding=1", "net/ipv6/conf/all/accept_ra=0"])
    assert _switched_on_left_out(*half, KEY) == (["net/ipv6/conf/all/accept_ra=1"], ["net/ipv6/conf/all/accept_ra=0"])


def test_only_the_kernels_anycast_routes_are_allowed_to_appear():
    assert KERNEL_ANYCAST.fullmatch("anycast fd00:: dev eth0 table local proto kernel metric 0 pref medium")
    assert not KERNEL_ANYCAST.fullmatch("fd00::/64 dev eth0 proto kernel metric 256 pref medium")
    assert not KERNEL_ANYCAST.fullmatch("anycast fd00:: dev eth0 table local proto static metric 0 pref medium")
