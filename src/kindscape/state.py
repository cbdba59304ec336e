"""What a running scenario is made of, recorded before it is made: the state file.

`down` reads it to remove everything, even after `up` was killed half-way; a per-scenario
lock (flock) makes two commands on the same scenario wait or fail, never race.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import PrivilegeError, StateError

STATE_ROOT = os.environ.get("KINDSCAPE_STATE_DIR", "/run/kindscape")
# The state file's format: a kindscape reads only its own. Raise it whenever what a state
# records, or how (the topology's fields included), changes incompatibly.
STATE_FORMAT = 1
# scenario/naming.py's rule for scenario names, restated here because importing the
# scenario package loads pydantic, which commands on a running scenario never need
# (tests/unit/test_state_names.py holds the two equal).
SCENARIO_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SCENARIO_NAME_MAX = 20


@dataclass
class ScenarioState:
    name: str
    runtime: str
    phase: str = "creating"  # creating | up | removing
    created: float = field(default_factory=time.time)
    source: str | None = None
    pid: int = field(default_factory=os.getpid)  # the `up` that made it
    namespaces: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    processes: list[dict[str, Any]] = field(default_factory=list)  # {"pid", "start", "role"}
    extra: dict[str, Any] = field(default_factory=dict)  # runtime-specific records
    topology: dict[str, Any] = field(default_factory=dict)


def scenario_dir(name: str) -> str:
    """The scenario's directory; a name that is not a scenario name (e.g. one that would
    escape the state directory, like `../etc`) is refused before any path is built."""
    if not _is_name(name):
        raise StateError(f"invalid scenario name {name!r}: lower-case letters, digits and '-', "
                         f"at most {SCENARIO_NAME_MAX} characters")
    return os.path.join(STATE_ROOT, name)


def _is_name(name: str) -> bool:
    return isinstance(name, str) and len(name) <= SCENARIO_NAME_MAX and bool(SCENARIO_NAME_RE.match(name))


def state_path(name: str) -> str:
    return os.path.join(scenario_dir(name), "state.json")


def ensure_root() -> None:
    try:
        os.makedirs(STATE_ROOT, mode=0o700, exist_ok=True)
        os.chmod(STATE_ROOT, 0o700)
    except PermissionError as exc:
        raise _not_permitted(exc) from None


def _not_permitted(exc: OSError) -> PrivilegeError:
    return PrivilegeError(f"kindscape keeps its state in {STATE_ROOT}, which only root may use "
                          f"({exc.strerror}): run with sudo")


def save(state: ScenarioState) -> None:
    """Write atomically, readable by root only."""
    directory = scenario_dir(state.name)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = os.path.join(directory, f".state.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # Fields as they are (no deep copy: asdict's costs ~0.1 s for a thousand namespaces),
    # encoded in one go by json's C encoder (json.dump to a file uses the Python one).
    data = {"format": STATE_FORMAT, "madeBy": _version(),
            **{f.name: getattr(state, f.name) for f in fields(state)}}
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(data))
    os.replace(tmp, state_path(state.name))


class StateUnreadable(StateError):
    """A state file this kindscape cannot use: damaged, or another version's (`why` says
    which); `down --force` removes the scenario by its ownership marks instead."""

    def __init__(self, name: str, why: str, made_by: str | None = None):
        self.name, self.why, self.made_by = name, why, made_by
        remedy = (f"run `kindscape down {name}` with the kindscape that made it ({made_by}), or "
                  if made_by else "run ")
        super().__init__(f"state of scenario {name!r} is unreadable: {why}; {remedy}"
                         f"`kindscape down --force {name}`, which removes what carries the "
                         f"scenario's ownership marks")


def load(name: str) -> ScenarioState | None:
    """The scenario's state; None when it has none; StateUnreadable when it is damaged or
    another version's."""
    try:
        with open(state_path(name), "rb") as handle:
            data = json.loads(handle.read())
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise _not_permitted(exc) from None
    except (OSError, ValueError) as exc:
        raise StateUnreadable(name, f"it is damaged ({exc.__class__.__name__}: not JSON)") from None
    return _from_json(name, data)


_FIELD_TYPES = {"name": str, "runtime": str, "phase": str, "created": (int, float), "source": (str, type(None)),
                "pid": int, "namespaces": list, "files": list, "processes": list, "extra": dict, "topology": dict}


def _from_json(name: str, data: Any) -> ScenarioState:
    if not isinstance(data, dict):
        raise StateUnreadable(name, "it is damaged (not a JSON object)")
    found, made_by = data.get("format"), data.get("madeBy")
    made_by = made_by if isinstance(made_by, str) and len(made_by) < 40 else None
    if found != STATE_FORMAT:
        what = f"format {found!r}" if isinstance(found, int) else "no format version (an older kindscape's)"
        raise StateUnreadable(name, f"it was written by another kindscape version ({what}; this "
                                    f"kindscape {_version()} reads format {STATE_FORMAT})", made_by)
    for key, kind in _FIELD_TYPES.items():
        if key not in data or not isinstance(data[key], kind):
            raise StateUnreadable(name, f"it is damaged ({key!r} is missing or of the wrong type)", made_by)
    if data["name"] != name or not all(isinstance(p, dict) and isinstance(p.get("pid"), int) and "start" in p
                                       and isinstance(p.get("role"), str) for p in data["processes"]) \
            or not all(isinstance(item, str) for item in data["namespaces"] + data["files"]):
        raise StateUnreadable(name, "it is damaged (its name, process records or names do not fit)", made_by)
    return ScenarioState(**{k: v for k, v in data.items() if k in ScenarioState.__dataclass_fields__})


def _version() -> str:
    from . import __version__
    return __version__


def names(leftovers: bool = False) -> list[str]:
    """Scenarios with a state file; with `leftovers`, also state directories a killed
    `down` left without one (`down NAME` removes them)."""
    try:
        entries = sorted(os.listdir(STATE_ROOT))
    except FileNotFoundError:
        return []
    except PermissionError as exc:
        raise _not_permitted(exc) from None
    return [e for e in entries if _is_name(e)
            and (os.path.isfile(state_path(e)) or (leftovers and os.path.isdir(scenario_dir(e))))]


def forget(name: str) -> None:
    """Remove the scenario's state directory (after everything else is gone)."""
    directory = scenario_dir(name)
    for entry in ("state.json",) + tuple(os.listdir(directory) if os.path.isdir(directory) else ()):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(os.path.join(directory, entry))
    with contextlib.suppress(FileNotFoundError, OSError):
        os.rmdir(directory)


@dataclass
class Lock:
    path: str
    # Set by `down`: the scenario is gone, so is its lock file. A lock of a scenario that
    # has no state file (a refused `up`, a `down` of nothing) is removed as well.
    remove_on_exit: bool = False


@contextlib.contextmanager
def locked(name: str, wait: bool = False) -> Iterator[Lock]:
    """Hold the scenario's lock; a second holder gets a clear error (or waits)."""
    lock = Lock(scenario_dir(name) + ".lock")  # refuses a bad name before touching anything
    ensure_root()
    fd = _acquire(lock.path, name, wait)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield lock
        finally:
            if lock.remove_on_exit or not os.path.exists(state_path(name)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lock.path)
            else:
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)


# A SIGKILLed holder's lock outlives it while a child it was starting (fork, not yet
# exec'd: nft, ip, the server) still shares the open file; such children exec or exit
# within moments, so a lock whose recorded holder is gone is waited for this long.
ORPHANED_LOCK_WAIT = 5.0


def _alive(holder: str) -> bool:
    """Whether the lock file's pid names a live process (an empty file: a holder that is
    starting or finishing, so alive). A zombie is not: its files are closed already."""
    if not holder.isdigit():
        return True
    try:
        with open(f"/proc/{holder}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        return True


def _busy(name: str, holder: str, path: str) -> str:
    if _alive(holder):
        return f"scenario {name!r} is busy: another kindscape (pid {holder or '?'}) is working on it"
    return (f"scenario {name!r} is busy: its lock is still held by a process that the kindscape "
            f"with pid {holder} started; that kindscape has exited (`fuser -v {path}` names it)")


def _acquire(path: str, name: str, wait: bool) -> int:
    deadline = time.monotonic() + ORPHANED_LOCK_WAIT
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            # No pid yet, or none any more: a holder starting or finishing (moments).
            if (not holder or not _alive(holder)) and time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            raise StateError(_busy(name, holder, path)) from None
        # The holder before us may have removed the file (down): lock the current one.
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
