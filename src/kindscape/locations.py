"""Where an endpoint (a node, pod or host) lives: a typed location, one of
- `NamedNetns`: a network namespace kindscape made (the netns runtime), by its name;
- `InContainer`: a container's own network namespace, or a namespace inside it named as
  containerd named a pod's (the kind runtime's nodes, hosts and pods);
- `HostNamespace`: this machine's own (the kind runtime's Docker host).

Each is also the text plans, `status` and trace show for it (`ks.demo.vm1`,
`container:demo-vm1`, `container:kind-worker:cni-1234`, `host`), so it can stand where a
namespace name always stood; code that needs its parts reads them (`container`, `netns`)
and never takes the text apart. State files keep them as JSON objects (`to_json`)."""

from __future__ import annotations

from typing import Any


class NamedNetns(str):
    """A network namespace of ours, mounted at /run/netns/<name>."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self)

    def to_json(self) -> dict[str, Any]:
        return {"namespace": str(self)}


class InContainer(str):
    """A container's network namespace (`netns` empty), or the named namespace inside it."""

    container: str
    netns: str

    def __new__(cls, container: str, netns: str = "") -> "InContainer":
        self = super().__new__(cls, f"container:{container}:{netns}" if netns else f"container:{container}")
        self.container, self.netns = container, netns
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # copy and pickle rebuild it from its parts
        return self.container, self.netns

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, "netns": self.netns}


class HostNamespace(str):
    """This machine's own network namespace."""

    __slots__ = ()

    def __new__(cls) -> "HostNamespace":
        return super().__new__(cls, "host")

    def __getnewargs__(self) -> tuple[()]:
        return ()

    def to_json(self) -> dict[str, Any]:
        return {"host": True}


Location = NamedNetns | InContainer | HostNamespace
KINDS = (NamedNetns, InContainer, HostNamespace)


def from_json(data: Any) -> Location | str:
    """A location as `to_json` wrote it. A bare name (a state file written before locations
    were typed) is a namespace of ours; "" (no namespace: a Service) stays ""."""
    if isinstance(data, str):
        return NamedNetns(data) if data else data
    if "namespace" in data:
        return NamedNetns(data["namespace"])
    if "container" in data:
        return InContainer(data["container"], data.get("netns", ""))
    return HostNamespace()
