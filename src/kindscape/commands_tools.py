"""The commands that draw and describe: graph, schema, completion."""

from __future__ import annotations

import os
import sys

from .cliargs import ALLOW_OUTSIDE, RENAME, Arg, command
from .commands import guard, load_scenario


@command("graph", "Draw a scenario (running or a file) as .svg, .png or .dot",
         Arg("source", "a scenario that is up, a scenario file, or - for standard input",
             metavar="NAME|FILE", complete="names-or-files"),
         Arg("output", "the picture to write; its suffix picks the format", flags=("-o", "--output"),
             metavar="FILE.svg|.png|.dot"),
         RENAME.with_(help="with a file: draw it under this name instead of the file's `name`"), ALLOW_OUTSIDE,
         details="A scenario that is up is drawn as it runs (impairments and partitions included); "
                 "a file, as it would be planned.")
def graph(source: str, output: str | None, rename: str | None, allow_outside_files: bool) -> None:
    with guard():
        from . import api
        from .errors import UsageError
        if output is None:
            raise UsageError("give the picture to write: -o FILE.svg (or .png, .dot)")
        if source == "-" or rename is not None or (allow_outside_files and os.path.isfile(source)):
            source = load_scenario(source, rename, allow_outside_files)
        written = api.graph(source, output)
        sys.stderr.write(f"graph: wrote {written}\n")


@command("schema", "Print the JSON Schema of scenario files, for editors",
         Arg("path", "print where the installed schema file is instead", flags=("--path",), flag=True),
         details="kindscape schema > kindscape.schema.json")
def schema(path: bool) -> None:
    from .scenario import editor_schema
    if path:
        print(editor_schema.SHIPPED)
        return
    sys.stdout.write(editor_schema.schema_text())


@command("completion", "Print the shell completion script (bash, zsh)",
         Arg("shell", "the shell", choices=("bash", "zsh")),
         details="Completes commands, options, scenario names, endpoints, groups, sides and files.\n"
                 "bash: source <(kindscape completion bash)   (or save it under /etc/bash_completion.d/)\n"
                 "zsh:  source <(kindscape completion zsh)")
def completion(shell: str) -> None:
    from .completion import script
    sys.stdout.write(script(shell))
