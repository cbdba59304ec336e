"""Loading a scenario: the file, read as untrusted input (files.py), then its stages
(stages.py: YAML -> strict schema -> KIND defaults -> semantic checks -> topology).

This module imports only what a loaded scenario is made of, not the stages (the schema's
pydantic models): `up` takes a file it has validated before from its cache (cache.py)
without loading them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from ..errors import Problem, ScenarioError
from ..topology import Topology
from . import files

if TYPE_CHECKING:
    from .kindconfig import KindCluster
    from .schema import ScenarioSpec

STDIN = "<stdin>"


@dataclass(frozen=True)
class Scenario:
    """A loaded, valid scenario: its spec as written and its resolved topology. `spec` is
    None when `up` took the topology from its cache (the file as validated before)."""

    spec: ScenarioSpec | None
    topology: Topology
    source: str | None = None
    text: str = ""
    warnings: tuple[Problem, ...] = ()  # allowed but probably not meant (a selector selecting nothing)

    @property
    def name(self) -> str:
        return self.topology.scenario


def load(path: str | os.PathLike, allow_outside_files: bool = False, name: str | None = None) -> Scenario:
    """Load and validate a scenario file ("-": standard input); raises ScenarioError with
    every problem. The files it references must lie inside its directory tree unless
    `allow_outside_files` (see files.py: every file is read with limits). `name`, when
    given, replaces the file's `name` (the same file twice side by side)."""
    text, shown = read_scenario(path)
    access = files.access_for(None if shown == STDIN else str(path), allow_outside_files)
    return loads(text, shown, access=access, name=name)


def read_scenario(path: str | os.PathLike) -> tuple[str, str]:
    """(The text of a scenario file or of standard input for "-", the name to show it by),
    or ScenarioError saying why it is not read."""
    file = str(path)
    shown = STDIN if file == "-" else file
    try:
        text = files.read_stdin() if file == "-" else files.read_text(file)
    except files.FileRefused as exc:
        raise ScenarioError([Problem("", f"cannot read the file: {exc.reason}", None, exc.hint)], shown) from None
    return text, shown


def loads(text: str, file: str | None = None, base_dir: FsPath | None = None,
          allow_outside_files: bool = False, access: files.FileAccess | None = None,
          name: str | None = None) -> Scenario:
    """Load a scenario from YAML text (referenced files are relative to base_dir, the
    working directory by default, and must lie inside it unless `allow_outside_files`);
    `name` replaces the document's `name`, and is checked as it would be."""
    from .stages import validated
    if access is None:
        access = files.FileAccess(FsPath(os.path.realpath(base_dir or os.getcwd())), allow_outside_files)
    spec, topology, warnings = validated(text, file, access, name)
    return Scenario(spec, topology, file, text, tuple(warnings))


def load_kind_config(path: str | os.PathLike) -> KindCluster:
    """Read one KIND config file on its own (as `kind create cluster --config` would)."""
    from .stages import load_kind_config as read_config
    return read_config(path)
