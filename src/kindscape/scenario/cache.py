"""`up`'s cache of resolved topologies: a file validated before is not validated again.

Validating costs little; loading the validator (the schema's pydantic models, KIND's
config model, the checks) costs most of `up`'s start for a small scenario. So when `up`
meets a file it has validated before, it takes the resolved topology from here instead.

An entry is found by a key: the SHA-256 of the scenario's bytes, the options that change
what they resolve to (--name, --allow-outside-files, the namespace prefix), the file's
directory (its referenced files are relative to it), kindscape's version and a
fingerprint of its code and of the libraries validation uses. It holds what the
scenario's validity depended on besides its own text (files.FileAccess.depends): each
referenced file's SHA-256 (KIND configFile, policy files) and each confined path's place
(extraMounts' hostPath). A hit re-reads each file, with the same confinement and limits
as validation, and re-resolves each path: any difference, or a refusal, is a miss, and a
miss validates the file in full (its problems reported as always), then stores the entry.

Entries live in the state directory (root-only: 0700, files 0600), bounded in number and
size. An entry that is not ours (owner, mode, not a regular file), damaged (its checksum
or its content) or another version's is ignored and replaced, never trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys

from .. import codec, state
from ..errors import Problem
from ..runner import RUN_LOG
from ..marks import NETNS_PREFIX
from ..topology import Topology
from . import files
from .load import STDIN, Scenario, loads, read_scenario

try:  # CPython's own SHA-256: what hashlib falls back to, without loading OpenSSL (~2 ms of start)
    from _sha256 import sha256
except ImportError:  # pragma: no cover - another Python
    from hashlib import sha256

CACHE_FORMAT = 1
MAX_ENTRIES = 32
MAX_ENTRY_BYTES = 4 * 1024 * 1024  # a 1,000-namespace topology is ~1 MB
# The libraries whose behaviour decides what is valid; an upgrade of one changes the key.
VALIDATING_LIBRARIES = ("pydantic", "pydantic_core", "yaml")


def cache_dir() -> str:
    return os.path.join(state.STATE_ROOT, ".topologies")  # not a scenario name: starts with a dot


def load(path: str, name: str | None = None, allow_outside_files: bool = False) -> Scenario:
    """scenario.load for `up`: the same Scenario (its `spec` None on a hit) or the same
    ScenarioError; standard input and users who cannot keep a cache are always validated."""
    text, shown = read_scenario(path)
    if shown == STDIN or not _usable_dir(create=True):
        access = files.access_for(None if shown == STDIN else shown, allow_outside_files)
        return loads(text, shown, access=access, name=name)
    access = files.access_for(shown, allow_outside_files)
    key = entry_key(text, shown, access, name)
    cached = _lookup(key, access)
    if cached is not None:
        topology, warnings = cached
        _log(f"cache: {shown} validated before: its topology from the cache")
        return Scenario(None, topology, shown, text, warnings)
    _log(f"cache: {shown} not validated before (as it is now): validating")
    recording = files.FileAccess(access.root, access.allow_outside, depends=[])
    scenario = loads(text, shown, access=recording, name=name)
    _store(key, recording.depends or [], scenario)
    return scenario


def _log(message: str) -> None:
    """A line of `-v`'s run log; without a loaded logging module nobody listens (see runner.logged)."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(RUN_LOG).debug("%s", message)


def entry_key(text: str, shown: str, access: files.FileAccess, name: str | None) -> str:
    from .. import __version__
    identity = json.dumps([CACHE_FORMAT, __version__, _code_fingerprint(), str(access.root), access.allow_outside,
                           name, NETNS_PREFIX, shown])
    return sha256(identity.encode() + b"\0" + text.encode()).hexdigest()


def _code_fingerprint() -> list:
    """(path, size, mtime) of kindscape's modules and of the validating libraries' files:
    a changed checkout or an upgrade makes every key new (a version alone does not change
    in a development install)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    for root, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                found.append(_stamp(os.path.join(root, name)))
    for library in VALIDATING_LIBRARIES:
        module = sys.modules.get(library)
        origin = getattr(module, "__file__", None) if module is not None else _origin(library)
        found.append(_stamp(origin) if origin else [library, None])
    return found


def _origin(library: str) -> str | None:
    from importlib.util import find_spec
    with contextlib.suppress(ImportError, ValueError):
        spec = find_spec(library)
        return spec.origin if spec is not None else None
    return None


def _stamp(path: str) -> list:
    try:
        info = os.stat(path)
    except OSError:
        return [path, None]
    return [path, info.st_size, info.st_mtime_ns]


def _usable_dir(create: bool) -> bool:
    """Whether the cache directory is ours alone (made when `create` and root may)."""
    directory = cache_dir()
    if create and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.makedirs(directory, mode=0o700, exist_ok=True)
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def _lookup(key: str, access: files.FileAccess) -> tuple[Topology, tuple[Problem, ...]] | None:
    """The entry's topology and warnings when it is sound and what it depended on is as it
    was; None otherwise (the file is validated again, and the entry replaced)."""
    entry = _read_entry(os.path.join(cache_dir(), key))
    if entry is None or entry.get("key") != key or not _depends_hold(entry.get("depends"), access):
        return None
    try:
        topology = codec.decode(Topology, entry["topology"])
        warnings = tuple(Problem(**warning) for warning in entry["warnings"])
    except Exception:  # noqa: BLE001 - whatever a damaged entry raises, it is only a miss
        return None
    if not isinstance(topology, Topology):
        return None
    with contextlib.suppress(OSError):
        os.utime(os.path.join(cache_dir(), key))  # recently used: evicted last
    return topology, warnings


def _read_entry(path: str) -> dict | None:
    """An entry file: a header line {"sha256"} then its JSON body, which must match."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077 \
                or info.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    header, _, body = raw.partition(b"\n")
    try:
        if json.loads(header).get("sha256") != sha256(body).hexdigest():
            return None
        entry = json.loads(body)
    except (ValueError, AttributeError):
        return None
    return entry if isinstance(entry, dict) and entry.get("format") == CACHE_FORMAT else None


def _depends_hold(depends: object, access: files.FileAccess) -> bool:
    if not isinstance(depends, list):
        return False
    for item in depends:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(part, str) for part in item)):
            return False
        kind, name, recorded = item
        if kind == "file":
            try:
                text, _ = access.read(name)
            except files.FileRefused:
                return False
            if sha256(text.encode()).hexdigest() != recorded:
                return False
        elif kind != "path" or os.path.realpath(os.path.join(str(access.root), name)) != recorded:
            return False
    return True


def _store(key: str, depends: list[tuple[str, str, str]], scenario: Scenario) -> None:
    """Write the entry atomically (a failure to write only loses the cache), then evict
    the least recently used entries beyond MAX_ENTRIES."""
    recorded = [[kind, name, sha256(value.encode()).hexdigest() if kind == "file" else value]
                for kind, name, value in depends]
    body = json.dumps({"format": CACHE_FORMAT, "key": key, "depends": recorded,
                       "topology": codec.encode(scenario.topology),
                       "warnings": [warning.to_json() for warning in scenario.warnings]}).encode()
    if len(body) > MAX_ENTRY_BYTES - 100:
        return
    data = json.dumps({"sha256": sha256(body).hexdigest()}).encode() + b"\n" + body
    directory = cache_dir()
    tmp = os.path.join(directory, f".{key}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, os.path.join(directory, key))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _evict(directory)


def _evict(directory: str) -> None:
    try:
        entries = [entry for entry in os.scandir(directory) if entry.is_file(follow_symlinks=False)]
        entries.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime_ns, reverse=True)
    except OSError:
        return
    for entry in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
