"""The benchmark's scale figures (issue 17): linearity of up and down from 1,000 to
10,000 namespaces, memory per namespace, the probe rate of reachable and unreachable
pairs apart, and the sampled check's time and coverage; with a verdict per target."""

from __future__ import annotations

BASE = 1000  # the size the larger ones are compared with (same shape of cluster)
LINEAR_TARGET = 1.1  # up(N) <= 1.1 x (N/1k) x up(1k)
DOWN_TARGET_10K = 3.0  # s
TOOL_MB_10K = 300.0
PROBE_RATE_TARGET = 8000.0  # probes/s with a third unreachable, at 1k and 10k
PROBE_RATE_KEEP = 0.7  # the rate at 10k >= 0.7 x the rate at 1k

HEADER = ["namespaces", "up s", "up/ns vs 1k", "lib up s", "lib up/ns vs 1k", "down s", "lib down s",
          "tool MB", "machine KB/ns", "probes/s", "lib probes/s", "lib reach/s", "lib unreach/s",
          "sampled s", "sampled probes", "pairs covered"]


def _lib(result, key: str):
    lib = result.library
    return lib.get(key) if isinstance(lib, dict) else None


def _ratio(result, base, key: str | None) -> float | None:
    """Time per namespace at this size over time per namespace at the base size."""
    ours = result.up if key is None else _lib(result, key)
    theirs = base.up if key is None else _lib(base, key)
    if not (ours and theirs):
        return None
    return (ours / result.namespaces) / (theirs / base.namespaces)


def _rate(result, kind: str) -> float | None:
    probes, seconds = _lib(result, f"{kind}_probes"), _lib(result, f"{kind}_check")
    return probes / seconds if probes and seconds else None


def lib_rate(result) -> float | None:
    probes, seconds = _lib(result, "probes"), _lib(result, "check")
    return probes / seconds if probes and seconds else None


def _f(value, pattern: str = "{:.2f}") -> str:
    return pattern.format(value) if value else "-"


def rows(results) -> list[list[str]]:
    base = next((r for r in results if r.size == BASE and r.up), None)
    found = []
    for r in results:
        if r.size < BASE or not r.up:
            continue
        found.append([str(r.namespaces), _f(r.up), _f(_ratio(r, base, None) if base else None),
                      _f(_lib(r, "up")), _f(_ratio(r, base, "up") if base else None), _f(r.down),
                      _f(_lib(r, "down")), f"{r.tool_mb:.0f}", _f(r.machine_mb * 1024 / r.namespaces, "{:.0f}"),
                      _f(r.probes_per_s, "{:,.0f}"), _f(lib_rate(r), "{:,.0f}"),
                      _f(_rate(r, "reachable"), "{:,.0f}"), _f(_rate(r, "unreachable"), "{:,.0f}"),
                      _f(_lib(r, "sampled_check")), _f(_lib(r, "sampled_probes"), "{:,}"),
                      _f(_lib(r, "sampled_pairs"), "{:,}")])
    return found


def targets(results) -> list[tuple[str, str, bool]]:
    base = next((r for r in results if r.size == BASE and r.up), None)
    big = max((r for r in results if r.size > BASE and r.up), key=lambda r: r.size, default=None)
    if base is None or big is None:
        return []
    found = []
    for what, key in (("command", None), ("library", "up")):
        ratio = _ratio(big, base, key)
        if ratio:
            found.append((f"up({big.namespaces:,}) <= {LINEAR_TARGET} x linear from up({base.namespaces:,}) "
                          f"({what})", f"{ratio:.2f} x", ratio <= LINEAR_TARGET))
    if big.size >= 10000:
        found += [(f"down({big.namespaces:,}) <= {DOWN_TARGET_10K:.0f} s", f"{big.down:.2f} s",
                   big.down <= DOWN_TARGET_10K),
                  (f"tool's peak memory <= {TOOL_MB_10K:.0f} MB at {big.namespaces:,}", f"{big.tool_mb:.0f} MB",
                   big.tool_mb <= TOOL_MB_10K)]
    small_rate, big_rate = lib_rate(base), lib_rate(big)
    if small_rate and big_rate:
        found.append((f">= {PROBE_RATE_TARGET:,.0f} probes/s, a third unreachable, at {base.namespaces:,} and "
                      f"{big.namespaces:,} (library)", f"{small_rate:,.0f} and {big_rate:,.0f}/s",
                      min(small_rate, big_rate) >= PROBE_RATE_TARGET))
        found.append((f"probe rate at {big.namespaces:,} >= {PROBE_RATE_KEEP} x at {base.namespaces:,}",
                      f"{big_rate / small_rate:.2f} x", big_rate / small_rate >= PROBE_RATE_KEEP))
    return found
