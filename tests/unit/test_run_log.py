"""`-v`: every program kindscape runs is logged on `kindscape.run` with its argv and duration."""

import logging
import re

import pytest

from kindscape.errors import CommandFailed
from kindscape.runner import run


def test_each_run_is_logged_with_its_argv_and_duration(caplog):
    caplog.set_level(logging.DEBUG, logger="kindscape.run")
    run(["true", "a b"])
    with pytest.raises(CommandFailed):
        run(["false"])
    lines = [r.getMessage() for r in caplog.records if r.name == "kindscape.run"]
    assert len(lines) == 2
    assert re.fullmatch(r"run: true 'a b' \(\d+\.\d{3} s\)", lines[0])
    assert re.fullmatch(r"run: false \(\d+\.\d{3} s\)", lines[1])  # a failed call too
