"""What this kernel can do for link impairments, found by trying it: each feature is
tried once per process in a throwaway network namespace (`unshare --net`: gone when the
command exits), never on the machine's own interfaces."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from functools import cache

from ..errors import KernelFeatureMissing
from ..runner import require, run

# The features link impairments use, and what each is (plan/link_faults.py says which
# setting needs which).
FEATURES = {
    "egress": "nftables' netdev egress hook (Linux 5.16+ with CONFIG_NETFILTER_EGRESS, nft 1.0.1+)",
    "htb": "the kernel's htb qdisc (sch_htb)",
    "netem": "the kernel's netem qdisc (sch_netem)",
}

_EGRESS_PROBE = """table netdev kindscape-probe {
  chain egress_lo {
    type filter hook egress device "lo" priority 0; policy accept;
    numgen random mod 100 < 1 meta priority set 1:10
  }
}
"""
_QDISC_PROBES = {"htb": ["htb"], "netem": ["netem", "delay", "1ms"]}


@cache
def available(feature: str) -> bool:
    """Does this kernel have the feature (a key of FEATURES)?"""
    require("unshare")
    if feature == "egress":
        require("nft")
        return run(["unshare", "--net", "nft", "-f", "-"], input=_EGRESS_PROBE, check=False).returncode == 0
    require("tc")
    argv = ["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", *_QDISC_PROBES[feature]]
    return run(argv, check=False).returncode == 0


@cache
def has_sctp() -> bool:
    """Can this kernel make an SCTP socket (the sctp module, built in or loadable)?"""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
        return True
    except OSError:
        return False


def check(needs: Iterable[tuple[str, dict[str, list[str]]]]) -> None:
    """Refuse, naming every missing feature and what needs it, before anything is made.
    `needs` are (where, {feature: the settings that need it}), e.g. ("impairments[0]",
    {"netem": ["delay"]})."""
    problems = []
    for where, required in needs:
        for feature, settings in required.items():
            if not available(feature):
                verb = "needs" if len(settings) == 1 else "need"
                problems.append(f"{where}: {_and(settings)} {verb} {FEATURES[feature]}, "
                                f"which this kernel lacks")
    if problems:
        raise KernelFeatureMissing("; ".join(problems) + _advice(problems))


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _advice(problems: list[str]) -> str:
    if any("netem" in p for p in problems):
        return " (rate and loss work without netem; `modprobe sch_netem` where the kernel ships it)"
    return ""
