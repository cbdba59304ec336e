"""The `kind` binary, through argv lists (kindscape.runner.run)."""

from __future__ import annotations

from ...errors import CommandFailed, RuntimeFailure
from ...runner import require, run
from .ops import CreateCluster

CREATE_TIMEOUT = 900  # pulling a node image on a slow line takes minutes


class KindCli:
    """`kind create/delete cluster`; `kind get nodes` is the Docker side's label lookup."""

    def require(self) -> None:
        require("kind")

    def create(self, op: CreateCluster) -> None:
        try:
            run(op.argv(), input=op.config, timeout=CREATE_TIMEOUT)
        except CommandFailed as exc:
            raise RuntimeFailure(f"kind could not create cluster {op.cluster} "
                                 f"(exit {exc.returncode}):\n{exc.stderr.strip()}") from None

    def delete(self, cluster: str) -> None:
        run(["kind", "delete", "cluster", "--name", cluster], timeout=300)
