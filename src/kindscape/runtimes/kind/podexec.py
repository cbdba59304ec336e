"""`exec` into a probe pod of a KIND cluster, as `ip netns exec` does for the netns runtime:
this machine's command, inside the pod's network namespace, seeing the pod's
/etc/resolv.conf (kubelet's, for dnsPolicy ClusterFirst: the cluster's kube-dns address,
KIND's search path, ndots:5), so `nslookup web` asks the cluster's real CoreDNS.

The probe pods run the pause image, which has no tools to exec; so this small program
enters the pod's network namespace, makes a private mount namespace for itself (nothing
it mounts is seen elsewhere, and it is gone when the command exits), bind-mounts the
resolv.conf over /etc/resolv.conf and executes the command:

    python -m kindscape.runtimes.kind.podexec NETNS_PATH RESOLV_CONF -- COMMAND...
"""

from __future__ import annotations

import os
import sys

from ...linux import nsfs

CLONE_NEWNS = 0x00020000
MS_PRIVATE = 1 << 18
RESOLV_CONF = "/etc/resolv.conf"
USAGE = "usage: python -m kindscape.runtimes.kind.podexec NETNS_PATH RESOLV_CONF -- COMMAND..."


def argv(netns_path: str, resolv_conf: str, command: list[str]) -> list[str]:
    return [sys.executable, "-m", __name__, netns_path, resolv_conf, "--", *command]


def enter(netns_path: str, resolv_conf: str) -> None:
    nsfs.enter(netns_path)  # an absolute path is used as it is
    nsfs.unshare(CLONE_NEWNS, "unshare(CLONE_NEWNS)")
    nsfs.mount(b"none", b"/", nsfs.MS_REC | MS_PRIVATE, "mount --make-rprivate /")
    nsfs.mount(resolv_conf.encode(), RESOLV_CONF.encode(), nsfs.MS_BIND, f"mount --bind {resolv_conf} {RESOLV_CONF}")


def main(args: list[str]) -> int:
    if len(args) < 4 or args[2] != "--":
        print(USAGE, file=sys.stderr)
        return 2
    try:
        enter(args[0], args[1])
    except OSError as exc:  # the pod's namespace or resolv.conf is not there (any more)
        print(f"kindscape exec: {exc}", file=sys.stderr)
        return 1
    try:
        os.execvp(args[3], args[3:])
    except OSError as exc:
        print(f"kindscape exec: {args[3]}: {exc.strerror}", file=sys.stderr)
        return 127 if isinstance(exc, FileNotFoundError) else 126  # as a shell says it
    return 0  # not reached: execvp replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
