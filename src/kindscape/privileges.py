"""Which capabilities this process really has (root is not enough: a container or
`setpriv` can drop them), so a runtime can refuse before it creates anything."""

from __future__ import annotations

from .errors import PrivilegeError

# Bit numbers from linux/capability.h.
CAPABILITIES = {"CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21, "CAP_NET_RAW": 13}
# What the netns runtime needs: links, addresses, routes, nft (NET_ADMIN); unshare, setns
# and mounts of network namespaces (SYS_ADMIN).
NETNS = ("CAP_NET_ADMIN", "CAP_SYS_ADMIN")
# What the kind runtime needs: routes and nft tables on this machine (NET_ADMIN); entering
# the containers' network namespaces for probes, workloads and impairments (SYS_ADMIN).
KIND = ("CAP_NET_ADMIN", "CAP_SYS_ADMIN")


def effective() -> int:
    """The effective capability set, as the bit mask of /proc/self/status's CapEff."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def missing(names: tuple[str, ...]) -> list[str]:
    mask = effective()
    return [name for name in names if not mask & (1 << CAPABILITIES[name])]


def require(names: tuple[str, ...], what: str, why: str) -> None:
    """Raise PrivilegeError naming the capabilities `what` needs and this process lacks."""
    lacking = missing(names)
    if lacking:
        raise PrivilegeError(f"{what} needs {' and '.join(names)} ({why}); this process lacks "
                             f"{', '.join(lacking)}: run as root (sudo) with those capabilities")
