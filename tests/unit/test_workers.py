"""linux/workers.py: items worked through on threads, results in order, the first
failure raised, progress as items finish, and cancel starting nothing more."""

from __future__ import annotations

import threading

import pytest

from kindscape.linux.workers import Workers


def test_results_come_in_the_items_order_with_progress_for_each():
    told = []
    workers = Workers(lambda n: n * n, range(20), 4)
    assert workers.wait(lambda done, total: told.append((done, total))) == [n * n for n in range(20)]
    assert told == [(done, 20) for done in range(1, 21)]
    assert Workers(lambda n: n, [], 4).wait() == []


def test_the_first_failing_item_is_raised_after_all_finished():
    finished = []

    def work(n):
        if n in (3, 7):
            raise ValueError(f"item {n}")
        finished.append(n)

    with pytest.raises(ValueError, match="item 3"):
        Workers(work, range(10), 3).wait()
    assert sorted(finished) == [0, 1, 2, 4, 5, 6, 8, 9]


def test_cancel_starts_no_more_items_and_waits_for_those_under_way():
    started, release = [], threading.Event()

    def work(n):
        started.append(n)
        release.wait(5)

    workers = Workers(work, range(10), 2)
    while len(started) < 2:
        threading.Event().wait(0.01)
    cancelling = threading.Thread(target=workers.cancel)
    cancelling.start()
    while not workers.cancelled:
        threading.Event().wait(0.01)
    release.set()
    cancelling.join(5)
    assert all(not thread.is_alive() for thread in workers.threads)
    assert sorted(started) == [0, 1]
