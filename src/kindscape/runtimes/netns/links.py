"""Putting link operations (plan/links.py) in place, and changing them on a running
scenario: per namespace, one `tc -batch` and one `nft -f`, namespaces in parallel.

A change resets what the previous configuration had in a namespace and applies the new
one; resets are idempotent (replace the root qdisc, then delete it; add the table, then
delete it), so re-applying after an interrupted change is always safe."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ...plan.links import LinkOp, LinkRules, Shaping
from ...runner import run
from . import nsfs

Progress = Callable[[str, int, int], None]


def apply(desired: list[LinkOp], previous: list[LinkOp], progress: Progress, workers: int = 8,
          path_of: Callable[[str], str] = nsfs.path_of) -> int:
    """Make each namespace's links match `desired`, where `previous` (what may be in
    place) differs; returns how many namespaces were changed. `path_of` turns an op's
    namespace into a path to enter (the kind runtime's are containers')."""
    names = list(dict.fromkeys(op.ns for op in previous + desired))
    changed = [ns for ns in names if _of(previous, ns) != _of(desired, ns)]

    def one(ns: str) -> None:
        _apply_namespace(path_of(ns), _of(desired, ns), _of(previous, ns))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(one, changed), start=1):
            progress("links", done, len(changed))
    return len(changed)


def _of(found: list[LinkOp], ns: str) -> list[LinkOp]:
    return [op for op in found if op.ns == ns]


def _apply_namespace(path: str, desired: list[LinkOp], previous: list[LinkOp]) -> None:
    enter = ["nsenter", f"--net={path}"]
    tc = tc_batch(desired, previous)
    if tc:
        run(enter + ["tc", "-batch", "-"], input=tc)
    nft = nft_script(desired, previous)
    if nft:
        run(enter + ["nft", "-f", "-"], input=nft)


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
