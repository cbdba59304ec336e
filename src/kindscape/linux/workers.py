"""A few threads working through a list while the caller goes on: what kindscape needs of
a thread pool (nft processes, files, namespace removal run while the kernel works on the
other core). Not concurrent.futures: importing it (with logging, which it loads) costs
every command that uses it ~50M instructions, ~8 ms, as much as a small scenario's netlink
work."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class Workers:
    """`function(item)` for each item, on up to `threads` threads, started at once."""

    def __init__(self, function: Callable[[Any], Any], items: Sequence[Any], threads: int, name: str = "worker"):
        self.function = function
        self.items = list(items)
        self.results: list[Any] = [None] * len(self.items)
        self.errors: dict[int, BaseException] = {}
        self.finished = 0
        self.next = 0
        self.cancelled = False
        self.changed = threading.Condition()
        self.threads = [threading.Thread(target=self._work, name=f"{name}-{number}")
                        for number in range(min(threads, len(self.items)))]
        for thread in self.threads:
            thread.start()

    def _take(self) -> int | None:
        with self.changed:
            if self.cancelled or self.next >= len(self.items):
                return None
            self.next += 1
            return self.next - 1

    def _work(self) -> None:
        while (index := self._take()) is not None:
            error = None
            try:
                self.results[index] = self.function(self.items[index])
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter, which raises it
                error = exc
            with self.changed:
                if error is not None:
                    self.errors[index] = error
                self.finished += 1
                self.changed.notify_all()

    def wait(self, each: Callable[[int, int], None] | None = None) -> list[Any]:
        """The results in the items' order once all are done (`each(done, total)` as they
        finish); the failure of the first item that failed is raised."""
        total, told = len(self.items), 0
        while True:
            with self.changed:
                while self.finished == told and told < total:
                    self.changed.wait()
                done = self.finished
            for count in range(told + 1, done + 1):
                if each is not None:
                    each(count, total)
            told = done
            if done == total:
                break
        if self.errors:
            raise self.errors[min(self.errors)]
        return self.results

    def cancel(self) -> None:
        """Start no more items, and wait for the threads (the items under way finish)."""
        with self.changed:
            self.cancelled = True
        for thread in self.threads:
            thread.join()
