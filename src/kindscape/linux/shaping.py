"""Putting link impairments and partitions in place in network namespaces: per
namespace, one `tc -batch` and one `nft -f` (the scripts plan/link_faults.py writes),
namespaces in parallel.

A change resets what the previous configuration had in a namespace and applies the new
one; resets are idempotent (replace the root qdisc, then delete it; add the table, then
delete it), so re-applying after an interrupted change is always safe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..progress import Progress
from ..runner import run
from . import nsfs

def apply(changes: Sequence[tuple[str, str, str]], progress: Progress, workers: int = 8,
          path_of: Callable[[str], str] = nsfs.path_of) -> int:
    """Run each change, (namespace, tc batch, nft script), inside its namespace; returns
    how many namespaces were changed. `path_of` turns a namespace into a path to enter
    (the kind runtime's are containers')."""
    def one(change: tuple[str, str, str]) -> None:
        ns, tc, nft = change
        enter = ["nsenter", f"--net={path_of(ns)}"]
        if tc:
            run(enter + ["tc", "-batch", "-"], input=tc)
        if nft:
            run(enter + ["nft", "-f", "-"], input=nft)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(one, changes), start=1):
            progress("links", done, len(changes))
    return len(changes)
