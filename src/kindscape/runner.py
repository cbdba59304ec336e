"""The one way kindscape runs programs: argv lists (never a shell string), errors that
carry the argv and stderr."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

from .errors import CommandFailed, KindscapeError

# The Debian/Ubuntu package that provides each program we run, for "not found" errors.
PACKAGES = {"nft": "nftables", "ip": "iproute2", "nsenter": "util-linux", "unshare": "util-linux", "tc": "iproute2",
            "docker": "docker.io", "kind": "kind (https://kind.sigs.k8s.io)", "kubectl": "kubectl"}


RUN_LOG = "kindscape.run"  # the logger of `-v`: every call, its argv and its duration


@contextlib.contextmanager
def logged(what: str) -> Iterator[None]:
    """Logs `run: <what> (<seconds> s)` at DEBUG once the call is over (also when it failed)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        # Not importing logging for this saves every command ~3 ms of start (logging and
        # threading): a DEBUG record reaches only a handler someone configured (-v, a
        # program, pytest's caplog), and configuring one imports logging. When it is not
        # loaded, nobody listens.
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger(RUN_LOG).debug("run: %s (%.3f s)", what, time.perf_counter() - start)


def require(program: str) -> str:
    """The path of `program`, or a clear error naming the package that provides it."""
    path = shutil.which(program)
    if path is None:
        package = PACKAGES.get(program, program)
        raise KindscapeError(f"{program} not found on PATH: install {package}")
    return path


def run(argv: Sequence[str], *, input: str | None = None, check: bool = True,
        timeout: float | None = 120) -> subprocess.CompletedProcess:
    """Run argv, capture text output; raise CommandFailed (argv + stderr) on failure."""
    args = [str(a) for a in argv]
    try:
        with logged(shlex.join(args)):
            done = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout,
                                  check=False)
    except FileNotFoundError:
        require(args[0])
        raise
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(args, -1, f"timed out after {timeout} s: {exc.stderr or ''}") from None
    if check and done.returncode != 0:
        raise CommandFailed(args, done.returncode, done.stderr)
    return done
