"""Link impairment values as users write them (`25ms`, `1%`, `100mbit`), parsed into exact
integers/floats, and written back in the same units `tc` reads.

Shared by the scenario file's validation and the `impair` command, so both accept and
refuse exactly the same things. Pure: no imports beyond the standard library.
"""

from __future__ import annotations

import math

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# tc's time units (microsecond precision is what netem keeps).
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)\s*$")
_DURATION_UNITS = {"us": 1, "µs": 1, "ms": 1_000, "s": 1_000_000}
MAX_DELAY_US = 60_000_000

_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")  # "1%", or "1" as tc reads it
PERCENT_DECIMALS = 4  # nft's numgen draws from 1,000,000 values: 0.0001% steps

# tc's rate units: bit/s (SI and IEC) and bytes/s ("bps" is bytes per second, as in tc).
_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_RATE_UNITS = {
    "bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9, "tbit": 10**12,
    "kibit": 2**10, "mibit": 2**20, "gibit": 2**30, "tibit": 2**40,
    "bps": 8, "kbps": 8 * 10**3, "mbps": 8 * 10**6, "gbps": 8 * 10**9, "tbps": 8 * 10**12,
    "kibps": 8 * 2**10, "mibps": 8 * 2**20, "gibps": 8 * 2**30,
}
MIN_RATE_BIT = 8_000  # below a 1500-byte packet every 1.5 s, nothing useful gets through
MAX_RATE_BIT = 100 * 10**9


class ValueProblem(ValueError):
    """A value that cannot be used; `hint` says what would be right."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def _finite(number: object, too_big: ValueProblem) -> float:
    """A number as a float; one beyond what a float holds (a 400-digit value) is too big."""
    try:
        found = float(number)
    except OverflowError:
        raise too_big from None
    if not math.isfinite(found):
        raise too_big
    return found


def parse_duration(value: object, what: str = "duration") -> int | None:
    """'25ms' -> 25000 (microseconds); zero means none (None)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueProblem(f"{what} needs a unit", "e.g. 25ms, 500us or 1s")
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueProblem(f"invalid {what}", "a number and a unit: us, ms or s (e.g. 25ms)")
    too_long = ValueProblem(f"{what} too long", "at most 60s")
    number = _finite(match.group(1), too_long)
    micros = round(_finite(number * _DURATION_UNITS[match.group(2)], too_long))
    if number > 0 and micros == 0:
        raise ValueProblem(f"{what} below one microsecond", "at least 1us (netem's precision)")
    if micros > MAX_DELAY_US:
        raise too_long
    return micros or None


def parse_percent(value: object, what: str = "percentage") -> float | None:
    """'1%' (or a plain number, as tc reads it: 1 means 1%) -> 1.0; zero means none."""
    if isinstance(value, bool):
        raise ValueProblem(f"invalid {what}", "a percentage such as 1% or 0.5%")
    out_of_range = ValueProblem(f"{what} out of range", "0% to 100%")
    if isinstance(value, (int, float)):
        number = _finite(value, out_of_range)
    elif isinstance(value, str) and _PERCENT_RE.match(value):
        number = _finite(_PERCENT_RE.match(value).group(1), out_of_range)
    else:
        raise ValueProblem(f"invalid {what}", "a percentage such as 1% or 0.5%")
    if not 0 <= number <= 100:
        raise out_of_range
    rounded = round(number, PERCENT_DECIMALS)
    if number > 0 and rounded == 0:
        raise ValueProblem(f"{what} too small", "at least 0.0001%")
    return rounded or None


def parse_rate(value: object, what: str = "rate") -> int | None:
    """'100mbit' -> 100_000_000 (bits per second)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueProblem(f"{what} needs a unit", "e.g. 100mbit, 1gbit or 512kbit (bits per second)")
    match = _RATE_RE.match(value)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _RATE_UNITS:
        raise ValueProblem(f"invalid {what}",
                           "a number and tc's unit: bit, kbit, mbit, gbit (bits/s) or bps, kbps, mbps "
                           "(bytes/s), e.g. 100mbit")
    too_high = ValueProblem(f"{what} too high", "at most 100gbit")
    bits = round(_finite(_finite(match.group(1), too_high) * _RATE_UNITS[unit], too_high))
    if bits < MIN_RATE_BIT:
        raise ValueProblem(f"{what} too low", "at least 8kbit")
    if bits > MAX_RATE_BIT:
        raise too_high
    return bits


def format_duration(micros: int) -> str:
    """25000 -> '25ms', 1500 -> '1500us', 2000000 -> '2s' (exact, as tc reads it)."""
    for unit, size in (("s", 1_000_000), ("ms", 1_000)):
        if micros % size == 0:
            return f"{micros // size}{unit}"
    return f"{micros}us"


def format_percent(number: float) -> str:
    text = f"{number:.{PERCENT_DECIMALS}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def format_rate(bits: int) -> str:
    """100_000_000 -> '100mbit' (the largest SI unit that keeps it a whole number)."""
    for unit, size in (("gbit", 10**9), ("mbit", 10**6), ("kbit", 10**3)):
        if bits % size == 0:
            return f"{bits // size}{unit}"
    return f"{bits}bit"


@dataclass(frozen=True)
class Field:
    """One impairment setting: its name in the file and on the command line, how it is
    parsed and shown, and the kernel feature it needs."""

    name: str
    parse: Callable[[Any, str], Any]  # (value as written, its name) -> parsed value or None
    show: Callable[[Any], str]  # parsed value -> text, as tc reads it
    needs_netem: bool


FIELDS = (
    Field("delay", parse_duration, format_duration, True),
    Field("jitter", parse_duration, format_duration, True),
    Field("loss", parse_percent, format_percent, False),  # nftables drops at random: no netem
    Field("duplicate", parse_percent, format_percent, True),
    Field("corrupt", parse_percent, format_percent, True),
    Field("reorder", parse_percent, format_percent, True),
    Field("rate", parse_rate, format_rate, False),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)


def settings_text(item: dict[str, Any]) -> str:
    """An impairment's settings, from its JSON form, as people write them: "delay 50ms, loss 1%"."""
    return ", ".join(f"{name} {item[name]}" for name in FIELD_NAMES if item.get(name))


def parse_settings(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Parse impairment settings by name; returns (parsed, [(name, message, hint)]).
    Shared with the `impair` command, which reports the same problems per option."""
    parsed: dict[str, Any] = {}
    problems: list[tuple[str, str, str]] = []
    for field in FIELDS:
        raw = values.get(field.name)
        if raw is None:
            continue
        try:
            parsed[field.name] = field.parse(raw, field.name)
        except ValueProblem as exc:
            problems.append((field.name, str(exc), exc.hint))
    for needy in ("jitter", "reorder"):
        if parsed.get(needy) and not parsed.get("delay"):
            problems.append((needy, f"{needy} needs a delay", f"add a delay (netem {needy}s delayed packets)"))
    if not problems and not any(parsed.values()):
        problems.append(("", "sets no impairment",
                         "give at least one of " + ", ".join(FIELD_NAMES)))
    return parsed, problems
