"""The prober's progress: finished probes of all its loops summed, reported at most every
PROGRESS_EVERY seconds, and always once all are done."""

from __future__ import annotations

from kindscape.probe import prober


def test_reports_are_throttled_but_the_last_is_always_heard(monkeypatch):
    monkeypatch.setattr(prober, "PROGRESS_EVERY", 0.1)
    heard = []
    clock = iter([0.0, 0.01, 0.02, 0.5, 0.51])
    monkeypatch.setattr(prober.time, "monotonic", lambda: next(clock))
    tally = prober._Tally(10, lambda *step: heard.append(step))
    for finished in (3, 2, 0, 1, 2, 2):  # a loop that finished nothing this turn says 0
        tally.add(finished)
    # 0.0 (first), 0.01 and 0.02 (too soon), 0.5 (due), 0.51 (the last: all done)
    assert heard == [("probes", 3, 10), ("probes", 8, 10), ("probes", 10, 10)]


def test_without_a_listener_the_loops_take_no_lock(monkeypatch):
    """The default (no_progress): the epoll loops' per-poll call returns at once."""
    tally = prober._Tally(5, prober.no_progress)
    monkeypatch.setattr(tally, "lock", None)  # taking it would fail
    tally.add(5)
