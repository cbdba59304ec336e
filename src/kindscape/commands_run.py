"""The commands that look inside a running scenario: trace, exec, capture."""

from __future__ import annotations

import sys

from .cliargs import NAME, OUTPUT, Arg, command, positive_float, positive_int
from .commands import emit, guard, show

ENDPOINT = Arg("endpoint", "a pod (cluster-a-worker/pod1), node, host or docker-host", metavar="ENDPOINT",
               complete="endpoints")


@command("trace", "Show the path a connection takes, hop by hop and back, and why",
         NAME,
         Arg("source", "where the connection starts: a pod, node, host, docker-host or an address",
             metavar="FROM", complete="endpoints"),
         Arg("target", "where it goes: a pod, node, host, docker-host, Service (cluster-a/svc/web) or an address",
             metavar="TO", complete="endpoints"),
         Arg("port", "port (default: 8080, a Service's own port)", flags=("-p", "--port"),
             type=positive_int, metavar="PORT"),
         Arg("protocol", "TCP (default) or UDP", flags=("--protocol",), default="TCP", choices=("TCP", "UDP"),
             metavar="PROTO"),
         OUTPUT, root=True,
         details="Each hop with the route, NAT and rule that decided it, and the return path; computed "
                 "from the live namespaces' routes and nft rules, nothing is sent.\n"
                 "Exit status: 0 delivered both ways, 1 not.\n"
                 "Example: kindscape trace multi-cluster cluster-a-worker/pod1 cluster-b-worker/pod1")
def trace(name: str, source: str, target: str, port: int | None, protocol: str, output: str) -> None:
    with guard(output):
        from . import api
        report = api.attach(name).trace(source, target, port=port, protocol=protocol)

        def table(_doc) -> None:
            from .render.trace import trace_view
            show(trace_view(report))
        emit(report.to_json() if output != "table" else None, output, table)
        raise SystemExit(0 if report.ok else 1)


@command("exec", "Run a command in a node, pod or host, or in each of a group",
         NAME,
         ENDPOINT.with_(metavar="ENDPOINT|GROUP", complete="groups",
                        help="a pod, node, host or docker-host; or a group (cluster-a/pods, cluster-a/nodes): "
                             "each output line is then prefixed with its endpoint"),
         Arg("command", "the command and its arguments, after --", metavar="-- CMD", nargs="..."),
         root=True,
         details="A group (cluster-a/pods, cluster-a/nodes) runs CMD in each endpoint in parallel, at most 8 "
                 "at a time; each output line is prefixed with its endpoint.\n"
                 "Exit status: the command's; for a group, the highest of theirs.\n"
                 "Example: kindscape exec multi-cluster cluster-a/pods -- ip -4 -o addr show dev eth0")
def exec_(name: str, endpoint: str, command: list[str]) -> None:
    with guard():
        from . import api
        from .errors import UsageError
        if not command:
            raise UsageError("give the command after --, e.g. -- ip route")
        lab = api.attach(name)
        members = lab.endpoints(endpoint)
        if len(members) == 1 and members[0] == endpoint:
            raise SystemExit(lab.exec(endpoint, command, capture=False).returncode)
        from .groupexec import print_prefixed
        done = lab.exec_group(members, command, on_done=print_prefixed)
        raise SystemExit(max(result.returncode for result in done.values()))


@command("capture", "Capture an endpoint's packets to a pcap file (tcpdump)",
         NAME, ENDPOINT,
         Arg("interface", "one interface (default: all of the endpoint's)", flags=("-i", "--interface"),
             metavar="IFACE"),
         Arg("write", "the pcap file; - for standard output (| wireshark -k -i -)", flags=("-w", "--write"),
             metavar="FILE|-", complete="files"),
         Arg("count", "stop after COUNT packets", flags=("-c", "--count"), type=positive_int, metavar="COUNT"),
         Arg("seconds", "stop after S seconds", flags=("--seconds",), type=positive_float, metavar="S"),
         Arg("filter", "a tcpdump (BPF) filter, e.g. tcp port 8080", metavar="FILTER", nargs="*", default=[]),
         root=True,
         details="Ends after COUNT packets, S seconds, or Ctrl-C, with the file complete. A bad filter is "
                 "refused before anything runs.")
def capture(name: str, endpoint: str, interface: str | None, write: str | None, count: int | None,
            seconds: float | None, filter: list[str]) -> None:
    with guard():
        from . import api
        from .errors import UsageError
        if write is None:
            raise UsageError("give where to write the packets: -w FILE.pcap, or -w - for standard output")
        if write == "-" and sys.stdout.isatty():
            raise UsageError("-w - writes binary pcap: pipe it (| tcpdump -r -, | wireshark -k -i -)")
        lab = api.attach(name)
        done = lab.capture(endpoint, write, interface=interface, count=count, seconds=seconds,
                           filter=" ".join(filter) or None)
        if write != "-":
            sys.stderr.write(f"capture: written to {done}\n")
