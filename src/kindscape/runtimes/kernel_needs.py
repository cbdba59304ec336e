"""Refusing, before anything is made, what a scenario needs of this kernel that it lacks,
for every runtime (the kind runtime's containers share this machine's kernel): the link
features impairments and partitions need (which setting needs what is the plan's to say,
plan/link_faults.py) and the protocols workloads use. Whether the kernel has a feature is
linux/features.py's to find out."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import KernelFeatureMissing
from ..topology import Impairment, Topology


def check(items: Iterable[tuple[str, Impairment | None]]) -> None:
    """Refuse, naming every missing feature and what needs it, before anything is made.
    `items` are (where, impairment or None for a partition), e.g. ("impairments[0]", ...)."""
    from ..linux import features
    from ..plan.link_faults import requirements
    features.check((where, requirements(item)) for where, item in items)


def sctp_users(topology: Topology) -> list[str]:
    """What in the scenario needs SCTP: workload ports and expectations that probe it."""
    found = [f"{pod.name} port {p.port}/SCTP" for pod in topology.pods for p in pod.ports if p.protocol == "SCTP"]
    found += [f"expect[{i}] ({e.source} -> {e.target})" for i, e in enumerate(topology.expectations)
              if e.protocol == "SCTP"]
    return found


def check_protocols(topology: Topology) -> None:
    from ..linux.features import has_sctp
    users = sctp_users(topology)
    if users and not has_sctp():
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        raise KernelFeatureMissing(f"{shown} need SCTP, which this kernel lacks (no sctp protocol: "
                                   "`modprobe sctp` where the kernel ships it)")
