"""A scenario that is up, and what one does with it: check, explain, trace, exec,
capture, status, and changing its links (impair, partition, heal). `api.Lab` is this
plus taking it down (`api` owns the scenario's lifecycle: up, attach, down)."""

from __future__ import annotations

import math
import signal
import subprocess
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import codec, endpoints
from . import state as statefile
from .errors import KindscapeError
from .progress import Progress, sink
from .runtimes.base import EXEC, IMPAIR, TRACE, Runtime
from .runtimes.base import require as capability
from .state import ScenarioState
from .topology import Topology

if TYPE_CHECKING:
    from .probe.checks import CheckReport


class RunningScenario:
    """`name` is the scenario's name, `topology` its resolved topology (every node, pod,
    host and address), `state` what was recorded to take it down, `runtime` the runtime
    it runs on."""

    def __init__(self, state: ScenarioState, runtime: Runtime, topology: Topology | None = None):
        self.state = state
        self.name = state.name
        self.runtime = runtime
        # `up` passes the topology it made; otherwise it is read back from the state.
        self.topology: Topology = topology or decoded(state)

    def check(self, all: bool = False, timeout: float = 1.0, measure: int = 0,
              progress: Progress | None = None, expect: str | None = None) -> "CheckReport":
        """Probe what the scenario's `expect` names (with `all`, or when it names nothing:
        every pod, node and host to every pod and host) and judge the expectations.

        The report has the content of `kindscape check -o json` (`report.to_json()`):
        `report.ok` is true when every expectation is met, `report.failures` lists the
        probes that broke one, `report.results` every probe (`reachable`, `seen_source`,
        `source_preserved`, `rtt_ms`, ...). `timeout` is seconds per probe. With
        `measure`, each pair gets a burst of that many probes (loss, RTT spread).
        `progress` hears of finished probes (step `probes`), or rounds with `measure`.
        `expect` verifies another set instead of `expect`: the name of one of the file's
        `expectWhen` sets, or a file of expectations (`expect: [...]`).
        """
        if not (timeout > 0 and math.isfinite(timeout)):
            raise KindscapeError(f"the probe timeout must be a positive number of seconds (got {timeout})")
        from .probe import checks
        progress = sink(progress)
        probe = lambda tasks: self.runtime.probe(self.state, tasks, timeout, progress)  # noqa: E731
        if measure:
            from .probe.measure import MAX_TIMEOUT, measuring
            wait = min(timeout, MAX_TIMEOUT)
            probe = measuring(lambda tasks: self.runtime.probe(self.state, tasks, wait), measure, progress)
        wanted = None
        if expect is not None:
            from .scenario.expectfile import expectations
            wanted = list(expectations(self.topology, expect))
        return checks.check(self.topology, probe, everything=all, expectations=wanted)

    def explain(self, report):
        """Give each failed expectation of a `check` report its one-line reason, from `trace`
        (what `check --explain` shows); returns the report."""
        from .trace import trace
        from .trace.explain import explain
        if all(outcome.met for outcome in report.expectations):
            return report
        # One view of the kernel for every failure: its sockets and rulesets are read once.
        with self._kernel() as kernel:
            explain(report.expectations, lambda *pair: trace(self.topology, kernel, *pair))
        return report

    def trace(self, source: str, target: str, port: int | None = None, address: str | None = None,
              protocol: str = "TCP"):
        """The path a new connection from `source` to `target` takes, hop by hop, and its
        reply's path back (same content as `trace -o json`); `protocol` TCP or UDP."""
        from .trace import trace
        with self._kernel() as kernel:
            return trace(self.topology, kernel, source, target, port, address, protocol)

    def _kernel(self):
        capability(self.runtime, TRACE, "trace")
        return self.runtime.kernel(self.state)

    def exec(self, endpoint: str, argv: Sequence[str], capture: bool = True) -> subprocess.CompletedProcess:
        """Run `argv` inside an endpoint (`cluster-a-worker/pod1`, `cluster-a-worker`, a
        host, `docker-host`) as `ip netns exec` would, and wait for it.

        Returns the CompletedProcess: its `returncode`, and with `capture` its `stdout`
        and `stderr` as text. A failing command is not an exception: check `returncode`.
        """
        if isinstance(argv, str):
            raise TypeError(f"argv must be a list of arguments, e.g. {argv.split()!r}, not a string")
        capability(self.runtime, EXEC, "exec")
        target = exec_target(self.topology, endpoint)
        return self.runtime.exec(self.state, target, list(argv), capture)

    def endpoints(self, selector: str) -> list[str]:
        """The endpoints a selector names that one can exec into (a group such as
        `cluster-a/pods` names several)."""
        try:
            found = endpoints.resolve(self.topology, selector)
        except endpoints.EndpointError as exc:
            raise KindscapeError(f"{exc}{'; ' + exc.hint if exc.hint else ''}") from None
        names = [each.name for each in found if each.netns]
        if not names:
            raise KindscapeError(f"{selector} is a Service: exec into a pod, node or host")
        return names

    def exec_group(self, names: Sequence[str], argv: Sequence[str], concurrency: int = 8,
                   on_done: Callable[[str, subprocess.CompletedProcess], None] | None = None,
                   ) -> dict[str, subprocess.CompletedProcess]:
        """`exec` in each endpoint, at most `concurrency` at a time; `on_done(name, result)`
        as each finishes. Returns {endpoint: CompletedProcess} in the order given."""
        from concurrent.futures import ThreadPoolExecutor, as_completed
        results: dict[str, subprocess.CompletedProcess] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(names)))) as pool:
            running = {pool.submit(self.exec, name, argv, True): name for name in names}
            for future in as_completed(running):
                results[running[future]] = future.result()
                if on_done is not None:
                    on_done(running[future], results[running[future]])
        return {name: results[name] for name in names}

    def capture(self, endpoint: str, write: str, interface: str | None = None, count: int | None = None,
                seconds: float | None = None, filter: str | None = None) -> str:
        """Capture the packets an endpoint sees (all its interfaces, or `interface`) into the
        pcap file `write` ("-": standard output) with tcpdump in its namespace, until
        `count` packets, `seconds`, or Ctrl-C; a filter tcpdump refuses is an error before
        anything runs. Returns the file written."""
        from . import capture as pcap
        target = exec_target(self.topology, endpoint)
        pcap.check_filter(lambda argv: self.runtime.exec(self.state, target, list(argv), True), interface, filter)
        path = pcap.output_path(write)
        with pcap.ctrl_c_ends_child():
            done = self.runtime.exec(self.state, target, pcap.tcpdump_argv(path, interface, count, seconds, filter),
                                     False)
        if done.returncode not in (0, pcap.TIMED_OUT, -signal.SIGINT, 128 + signal.SIGINT):
            raise KindscapeError(f"tcpdump in {endpoint} failed (exit {done.returncode}); its message is above")
        return path

    def status(self) -> dict[str, Any]:
        """The scenario's status document: the content of `kindscape status NAME -o json`."""
        from .render.status import status_json
        return status_json(self.topology, self.state, self.runtime.health(self.state))

    # Links: impairments and partitions on the running scenario (faults.py, links.py) ---------
    def impair(self, one: str, other: str, clear: bool = False, progress: Progress | None = None,
               **settings: Any) -> dict[str, Any]:
        """Set the impairment between two sides to `settings` (delay="25ms", loss="1%",
        rate="10mbit", ...), or clear it; returns the scenario's links (as `status`)."""
        from . import faults
        capability(self.runtime, IMPAIR, "impair")
        return self._links_changed(faults.impair(self.name, self.runtime, self.topology, one, other,
                                                 None if clear else settings, sink(progress)))

    def partition(self, one: str, other: str, progress: Progress | None = None) -> dict[str, Any]:
        """Cut all traffic between two sides until `heal`."""
        from . import faults
        capability(self.runtime, IMPAIR, "partition")
        return self._links_changed(faults.partition(self.name, self.runtime, self.topology, one, other,
                                                    sink(progress)))

    def heal(self, one: str, other: str, progress: Progress | None = None) -> dict[str, Any]:
        from . import faults
        capability(self.runtime, IMPAIR, "heal")
        return self._links_changed(faults.heal(self.name, self.runtime, self.topology, one, other,
                                               sink(progress)))

    def _links_changed(self, links) -> dict[str, Any]:
        self.state = statefile.load(self.name) or self.state
        return {"name": self.name, **links.to_json()}


def decoded(state: ScenarioState) -> Topology:
    """The state's topology; a state whose topology does not decode is damaged."""
    try:
        return codec.decode(Topology, state.topology)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise statefile.StateUnreadable(state.name, f"it is damaged (its topology does not decode: "
                                                    f"{exc.__class__.__name__})") from None


def exec_target(topology: Topology, selector: str) -> str:
    try:
        endpoint = endpoints.single(topology, selector)
    except endpoints.EndpointError as exc:
        raise KindscapeError(f"{exc}{'; ' + exc.hint if exc.hint else ''}") from None
    if not endpoint.netns:
        raise KindscapeError(f"{selector} is a Service: exec into a pod, node or host")
    return endpoint.netns
