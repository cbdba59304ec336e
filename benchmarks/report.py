"""The benchmark's tables and its verdict on each target of the issue.

Two bases, both printed: the commands a user runs (`kindscape up`, start-up of Python,
typer and pydantic included) and the library measured as Mininet is measured (inside
one process whose modules are imported: Mininet(topo) + start() against
kindscape.up(file), stop() against down())."""

from __future__ import annotations

import scale_report
import startup

SEED_TARGET = 0.3  # s: up + check + down of the seed example, start-up included (issue 17)
UP_TARGET, DOWN_TARGET = 5.0, 3.0  # s at 1,000 namespaces
PROBE_TARGET = 5000.0  # probes/s at 1,000 namespaces
RATIO_TARGET = 10.0  # x Mininet


def _lib(result, key: str) -> float | None:
    lib = result.library
    return lib.get(key) if isinstance(lib, dict) else None


def _mn(result, key: str) -> float | None:
    mn = result.mininet
    return mn.get(key) if isinstance(mn, dict) else None


def _s(value: float | None) -> str:
    return f"{value:.2f}" if value else "-"


def _x(theirs: float | None, ours: float | None) -> str:
    return f"{theirs / ours:.0f}x" if theirs and ours else "-"


def _rate(probes: int | None, seconds: float | None) -> str:
    return f"{probes / seconds:,.0f}" if probes and seconds else "-"


OURS = ["namespaces", "routes", "up s", "check s", "probes reached", "probes/s", "down s", "lib up s",
        "lib check s", "lib probes/s", "lib down s", "tool MB", "server MB", "machine MB"]
VERSUS = ["namespaces", "Mininet up s", "Mininet down s", "up: cmd", "up: lib", "down: cmd", "down: lib"]


def _ours(results) -> list[list[str]]:
    rows = []
    for r in results:
        if r.error and not r.up:
            rows.append([str(r.namespaces), str(r.routes), r.error] + [""] * (len(OURS) - 3))
            continue
        reached = f"{r.reachable}/{r.probes}" + ("" if r.checked_ok else " !")
        rows.append([str(r.namespaces), str(r.routes), _s(r.up), _s(r.check), reached, _rate(r.probes, r.check),
                     _s(r.down), _s(_lib(r, "up")), _s(_lib(r, "check")),
                     _rate(_lib(r, "probes"), _lib(r, "check")), _s(_lib(r, "down")),
                     f"{r.tool_mb:.0f}", f"{r.server_mb:.0f}", f"{r.machine_mb:.0f}"])
    return rows


def _versus(results) -> list[list[str]]:
    return [[str(r.namespaces), _s(_mn(r, "up")), _s(_mn(r, "down")), _x(_mn(r, "up"), r.up),
             _x(_mn(r, "up"), _lib(r, "up")), _x(_mn(r, "down"), r.down), _x(_mn(r, "down"), _lib(r, "down"))]
            for r in results]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(row) for row in rows])


def _pingalls(pingall) -> list[dict]:
    return [p for p in pingall if isinstance(p, dict) and p.get("pingall")] if isinstance(pingall, list) else []


def _targets(seed: dict, results, pingall) -> list[tuple[str, str, bool]]:
    found = [("seed example up+check+down <= 0.3 s", f"{seed['median']['total']:.2f} s (median)",
              seed["median"]["total"] <= SEED_TARGET and not seed["failures"])]
    big = next((r for r in results if r.size == 1000 and r.up), None)
    if big is not None:
        found += [("1,000 namespaces up <= 5 s", f"{big.up:.2f} s", big.up <= UP_TARGET),
                  ("1,000 namespaces down <= 3 s", f"{big.down:.2f} s", big.down <= DOWN_TARGET),
                  ("check >= 5,000 probes/s at 1,000 (command)", f"{big.probes_per_s:,.0f}/s, "
                   f"{big.reachable}/{big.probes} reached", big.probes_per_s >= PROBE_TARGET and big.checked_ok)]
    for r in results:  # a side that was not measured (failed, skipped) gets no verdict
        if not (_mn(r, "up") and _mn(r, "down")):
            continue
        if r.up and r.down:
            cmd = min(_mn(r, "up") / r.up, _mn(r, "down") / r.down)
            found.append((f"{r.namespaces} namespaces >= 10x Mininet, up and down (commands, start-up "
                          "included)", f"{cmd:.1f}x", cmd >= RATIO_TARGET))
        if _lib(r, "up") and _lib(r, "down"):
            lib = min(_mn(r, "up") / _lib(r, "up"), _mn(r, "down") / _lib(r, "down"))
            found.append((f"{r.namespaces} namespaces >= 10x Mininet, up and down (library: timed as "
                          "Mininet is, in a warm process)", f"{lib:.1f}x", lib >= RATIO_TARGET))
    best = max(_pingalls(pingall), key=lambda p: p["pings"] / p["pingall"], default=None)
    if best is not None and big is not None and big.check:
        theirs = best["pings"] / best["pingall"]
        found.append((f"probes/s >= 10x Mininet pingAll (its best rate, {best['hosts']} hosts)",
                      f"{big.probes_per_s / theirs:.1f}x", big.probes_per_s / theirs >= RATIO_TARGET))
    return found


def _slopes(results) -> str:
    """Cost of each further namespace between consecutive sizes (is the curve linear?)."""
    parts = []
    for small, big in zip(results, results[1:]):
        added = big.namespaces - small.namespaces
        cmd = 1000 * (big.up - small.up) / added
        lib = 1000 * (_lib(big, "up") - _lib(small, "up")) / added if _lib(big, "up") and _lib(small, "up") else 0
        parts.append(f"{small.namespaces}->{big.namespaces}: {cmd:.2f} ms (lib {lib:.2f} ms)")
    return "up, per further namespace: " + "; ".join(parts)


def _notes(results, pingall) -> list[str]:
    overhead = [f"{r.namespaces}: {r.up - _lib(r, 'up'):.2f} s" for r in results if _lib(r, "up")]
    out = [_slopes(results), "up, command minus library (interpreter, imports, output, exit): "
           + "; ".join(overhead), "load average per size: " + "; ".join(f"{r.namespaces}: {r.load}" for r in results),
           "kernel busy after down (background namespace teardown, or other users): "
           + "; ".join(f"{r.namespaces}: {r.cleanup:.1f} s" for r in results)]
    note = next((r.mininet for r in results if isinstance(r.mininet, str) and r.size <= 1000), None)
    out.append(f"Mininet: {note}" if note else
               "Mininet 2.3 (Debian package), LinuxBridge switch, no controller, run in a scratch network+PID "
               "namespace (unshare): dockerd's FORWARD DROP and br_netfilter in the root namespace would block "
               "its bridge")
    for p in pingall if isinstance(pingall, list) else []:
        if isinstance(p, dict) and p.get("pingall"):
            out.append(f"Mininet pingAll, {p['hosts']} hosts: {p['pings']} pings in {p['pingall']:.2f} s = "
                       f"{p['pings'] / p['pingall']:,.0f}/s (Mininet counts {p['loss']:.1f}% lost)")
        else:
            out.append(f"Mininet pingAll: {p}")
    return out


def render(machine: dict, seed: dict, results, pingall) -> str:
    out = [f"kindscape benchmark - {machine['cores']} cores, kernel {machine['kernel']}, Python {machine['python']}; "
           f"load average before {machine['load_before']}, after {machine['load_after']}",
           f"command timed: {seed['command']} (byte-compiled, as pip installs it)", ""]
    med = seed["median"]
    out.append(f"seed example (2 clusters, 11 namespaces), median of {seed['repeats']}: up {med['up']:.3f} s + "
               f"check {med['check']:.3f} s + down {med['down']:.3f} s = {med['total']:.3f} s "
               f"(best {seed['best_total']:.3f} s){'; FAILED: ' + ', '.join(seed['failures']) if seed['failures'] else ''}")
    if seed.get("startup"):
        out.append(startup.render(seed["startup"], "the seed example"))
    out += ["", "kindscape (commands; lib = the Python API in a warm process, as Mininet is measured):",
            _table(OURS, _ours(results)), "", "against Mininet (how many times faster):",
            _table(VERSUS, _versus(results)), ""]
    scale = scale_report.rows(results)
    if scale:
        out += ["scale (1,000 namespaces on: clusters of 20 nodes in pairs, a third of the probes unreachable; "
                "up/ns vs 1k: time per namespace over 1,000's; lib reach/s and unreach/s: the reachable and the "
                "unreachable expectations checked apart; sampled: check without expectations, one probe per "
                "class of equivalent pairs):", _table(scale_report.HEADER, scale), ""]
    out += _notes(results, pingall)
    out += ["", "targets:"]
    found = _targets(seed, results, pingall) + scale_report.targets(results)
    out += [f"  {'MET ' if met else 'MISS'}  {what}: {value}" for what, value, met in found]
    return "\n".join(out)
