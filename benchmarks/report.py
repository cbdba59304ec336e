"""The benchmark's table and its verdict on each target of the issue."""

from __future__ import annotations

SEED_TARGET = 1.0  # s: up + check + down of the seed example, start-up included
UP_TARGET, DOWN_TARGET = 5.0, 3.0  # s at 1,000 namespaces
PROBE_TARGET = 5000.0  # probes/s at 1,000 namespaces
RATIO_TARGET = 10.0  # x Mininet


def _ratio(theirs: float | None, ours: float) -> str:
    return f"{theirs / ours:.0f}x" if theirs and ours else "-"


def _mininet_cells(result) -> list[str]:
    mn = result.mininet
    if not isinstance(mn, dict) or "up" not in mn:
        return ["-", "-", "-", "-"]
    return [f"{mn['up']:.2f}", f"{mn['down']:.2f}", _ratio(mn["up"], result.up), _ratio(mn["down"], result.down)]


HEADER = ["namespaces", "routes", "up s", "ms/ns", "check s", "probes", "probes/s", "down s",
          "tool MB", "server MB", "machine MB", "Mininet up s", "Mininet down s", "up vs Mininet",
          "down vs Mininet"]


def _rows(results) -> list[list[str]]:
    rows = []
    for r in results:
        if r.error and not r.up:
            rows.append([str(r.namespaces), str(r.routes), r.error] + [""] * (len(HEADER) - 3))
            continue
        probes = f"{r.reachable}/{r.probes}" + ("" if r.checked_ok else " !")
        rows.append([str(r.namespaces), str(r.routes), f"{r.up:.2f}", f"{1000 * r.up / r.namespaces:.2f}",
                     f"{r.check:.2f}", probes, f"{r.probes_per_s:,.0f}", f"{r.down:.2f}",
                     f"{r.tool_mb:.0f}", f"{r.server_mb:.0f}", f"{r.machine_mb:.0f}"] + _mininet_cells(r))
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(row) for row in rows])


def _targets(seed: dict, results, pingall) -> list[tuple[str, str, bool | None]]:
    found = [("seed example up+check+down < 1 s", f"{seed['median']['total']:.2f} s (median)",
              seed["median"]["total"] < SEED_TARGET and not seed["failures"])]
    big = next((r for r in results if r.size == 1000 and r.up), None)
    if big is not None:
        found += [("1,000 namespaces up <= 5 s", f"{big.up:.2f} s", big.up <= UP_TARGET),
                  ("1,000 namespaces down <= 3 s", f"{big.down:.2f} s", big.down <= DOWN_TARGET),
                  ("check >= 5,000 probes/s at 1,000", f"{big.probes_per_s:,.0f}/s "
                   f"({big.reachable}/{big.probes} reached)", big.probes_per_s >= PROBE_TARGET and big.checked_ok)]
    for r in results:
        mn = r.mininet
        if isinstance(mn, dict) and "up" in mn:
            worst = min(mn["up"] / r.up, mn["down"] / r.down)
            found.append((f"{r.namespaces} namespaces >= 10x Mininet (up and down)", f"{worst:.0f}x", worst >= RATIO_TARGET))
    if isinstance(pingall, dict) and big is not None and big.check:
        theirs = pingall["pings"] / pingall["pingall"]
        found.append(("probes/s >= 10x Mininet pingAll", f"{big.probes_per_s / theirs:.0f}x",
                      big.probes_per_s / theirs >= RATIO_TARGET))
    return found


def render(machine: dict, seed: dict, results, pingall) -> str:
    out = [f"kindscape benchmark - {machine['cores']} cores, kernel {machine['kernel']}, Python {machine['python']}; "
           f"load average before {machine['load_before']}, after {machine['load_after']}",
           f"command timed: {seed['command']}", ""]
    med = seed["median"]
    out.append(f"seed example (2 clusters, 9 namespaces), median of {seed['repeats']}: up {med['up']:.3f} s + "
               f"check {med['check']:.3f} s + down {med['down']:.3f} s = {med['total']:.3f} s "
               f"(best {seed['best_total']:.3f} s){'; FAILED: ' + ', '.join(seed['failures']) if seed['failures'] else ''}")
    out += ["", _table(HEADER, _rows(results)), ""]
    out.append("load average per size: " + "; ".join(f"{r.namespaces}: {r.load}" for r in results))
    out.append("kernel busy after down (background namespace teardown): "
               + "; ".join(f"{r.namespaces}: {r.cleanup:.1f} s" for r in results))
    mininet_note = next((r.mininet for r in results if isinstance(r.mininet, str)), None)
    if mininet_note:
        out.append(f"Mininet: {mininet_note}")
    else:
        out.append("Mininet 2.3 (Debian package), LinuxBridge switch, no controller, run in a scratch "
                   "network+PID namespace (unshare): dockerd's FORWARD DROP and br_netfilter in the root "
                   "namespace would block its bridge")
    if isinstance(pingall, dict):
        rate = pingall["pings"] / pingall["pingall"]
        out.append(f"Mininet pingAll, {pingall['hosts']} hosts: {pingall['pings']} pings in "
                   f"{pingall['pingall']:.2f} s = {rate:,.0f}/s (loss {pingall['loss']}%)")
    elif pingall:
        out.append(f"Mininet pingAll: {pingall}")
    out += ["", "targets:"]
    for what, value, met in _targets(seed, results, pingall):
        out.append(f"  {'MET ' if met else 'MISS'}  {what}: {value}")
    return "\n".join(out)
