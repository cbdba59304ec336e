"""Refusing impairments and partitions this kernel cannot do, for every runtime (the
kind runtime's containers share this machine's kernel): what each needs is the plan's
to say (plan/link_faults.py), whether the kernel has it linux/features.py's."""

from __future__ import annotations

from collections.abc import Iterable

from ..topology import Impairment


def check(items: Iterable[tuple[str, Impairment | None]]) -> None:
    """Refuse, naming every missing feature and what needs it, before anything is made.
    `items` are (where, impairment or None for a partition), e.g. ("impairments[0]", ...)."""
    from ..linux import features
    from ..plan.link_faults import requirements
    features.check((where, requirements(item)) for where, item in items)
