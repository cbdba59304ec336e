"""Mininet's side of the benchmark: build N hosts on one LinuxBridge switch (no
controller), stop them, and optionally pingAll. Prints one JSON line.

Runs under Debian's python3 (the `mininet` package), inside a scratch network and PID
namespace that `bench.py` makes with `unshare --net --pid --fork --mount-proc`: in the
root namespace dockerd's FORWARD policy (DROP) and br_netfilter would stop the bridge
from forwarding, and the PID namespace guarantees that every host shell dies with this
process, whatever happens.

    unshare --net --pid --fork --mount-proc python3 mininet_run.py HOSTS [--pingall]
"""

from __future__ import annotations

import json
import resource
import sys

from timing import timed


def main(argv: list[str]) -> int:
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.nodelib import LinuxBridge
    from mininet.topo import SingleSwitchTopo

    hosts = int(argv[0])
    pingall = "--pingall" in argv[1:]
    setLogLevel("error")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a pty and pipes per host
    result: dict = {"hosts": hosts}
    with timed(result, "up"):
        net = Mininet(topo=SingleSwitchTopo(k=hosts), switch=LinuxBridge, controller=None)
        net.start()
    try:
        if pingall:
            with timed(result, "pingall"):
                result["loss"] = net.pingAll()
            result["pings"] = hosts * (hosts - 1)
    finally:
        with timed(result, "down"):
            net.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
