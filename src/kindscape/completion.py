"""Shell completion (`source <(kindscape completion bash)`): the script asks the console
script `kindscape __complete WORDS...` for the candidates of the last word, which are
worked out from the commands' declarations (cliargs.py): commands, options, option
values, and per argument scenario names, endpoints, groups, sides or files. Completion
must never fail or be slow: anything unreadable (e.g. the root-only state as a user)
completes nothing."""

from __future__ import annotations

import sys

from .cliargs import COMMANDS, Arg

FILES = "__files__"  # tells the script to add the shell's own file names

_BASH = r'''# kindscape completion for bash: source <(kindscape completion bash)
_kindscape() {
    local IFS=$'\n' current="${COMP_WORDS[COMP_CWORD]}" found
    found=$(kindscape __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null)
    COMPREPLY=($(compgen -W "$(grep -vx __files__ <<<"$found")" -- "$current"))
    if grep -qx __files__ <<<"$found"; then
        COMPREPLY+=($(compgen -f -- "$current"))
        compopt -o filenames 2>/dev/null
    fi
}
complete -F _kindscape kindscape
'''
_ZSH = "# kindscape completion for zsh: source <(kindscape completion zsh)\n" \
       "autoload -U +X bashcompinit && bashcompinit\n" + _BASH.split("\n", 1)[1]


def script(shell: str) -> str:
    return _ZSH if shell == "zsh" else _BASH


def complete_command(words: list[str]) -> int:
    """Print the candidates for the last of `words` (the words after `kindscape`)."""
    from .cliparser import LIFECYCLE, build_parser
    build_parser()  # registers the commands
    *before, current = words or [""]
    if not before:
        found = [name for name in LIFECYCLE] + ["--help", "--version", "--verbose"]
    else:
        spec = COMMANDS.get(before[0])
        found = _for_command(spec, before[1:], current) if spec is not None else []
    sys.stdout.write("".join(f"{each}\n" for each in found if each == FILES or each.startswith(current)))
    return 0


def _for_command(spec, before: list[str], current: str) -> list[str]:
    options = {flag: arg for arg in spec.args for flag in arg.flags}
    positionals, waiting = [], None
    for word in before:
        if waiting is not None:
            waiting = None
        elif word == "--":
            return []  # the command of exec: the shell's own completion
        elif word in options and not options[word].flag:
            waiting = options[word]
        elif not word.startswith("-") or word == "-":
            positionals.append(word)
    if waiting is not None:
        return list(waiting.choices) if waiting.choices else _values(waiting, positionals)
    if current.startswith("-") and current != "-":
        return sorted(options) + ["--help", "--verbose"]
    arg = _positional(spec.args, len(positionals))
    return _values(arg, positionals) if arg is not None else []


def _positional(args: tuple[Arg, ...], index: int) -> Arg | None:
    positional = [arg for arg in args if not arg.flags]
    if index < len(positional):
        return positional[index]
    if positional and positional[-1].nargs in ("*", "+"):
        return positional[-1]
    return None


def _values(arg: Arg, positionals: list[str]) -> list[str]:
    kind = arg.complete
    if kind in ("files",):
        return [FILES]
    if kind in ("names", "names-or-files"):
        return scenario_names() + ([FILES] if kind == "names-or-files" else [])
    if kind in ("endpoints", "groups", "sides") and positionals:
        return scenario_parts(positionals[0], kind)
    if kind == "sets-or-files":
        return (scenario_parts(positionals[0], "sets") if positionals else []) + [FILES]
    return list(arg.choices or ())


def scenario_names() -> list[str]:
    """Scenarios that have state on this machine, for NAME arguments."""
    from . import state
    try:
        return state.names()
    except Exception:  # completion never fails: unreadable state completes nothing
        return []


def scenario_parts(name: str, kind: str) -> list[str]:
    """A scenario's endpoints (nodes, pods, hosts, docker-host); with groups also
    `<cluster>/pods` and `<cluster>/nodes`; sides: clusters, nodes, hosts, networks; sets:
    its expectation sets (expectWhen)."""
    from . import api
    from .topology import DOCKER_HOST
    try:
        topology = api.attach(name).topology
    except Exception:  # completion never fails
        return []
    clusters = [cluster.name for cluster in topology.clusters]
    nodes = [node.name for node in topology.nodes]
    hosts = [host.name for host in topology.hosts]
    if kind == "sides":
        return clusters + nodes + hosts + [network.name for network in topology.networks]
    if kind == "sets":
        return [each.name for each in topology.expectation_sets]
    found = nodes + [pod.name for pod in topology.pods] + hosts + [DOCKER_HOST]
    if kind == "groups":
        found += [f"{cluster}/{group}" for cluster in clusters for group in ("pods", "nodes")]
    return found
