"""completion: shell completion for bash, zsh and fish, generated from the command tree.

The scripts complete both ``crictl`` (when installed under that name) and ``tinykube crictl``.
"""

from __future__ import annotations

import argparse

from cri.crictl.cli import build_parser, option_strings, subcommands
from cri.crictl.session import Session

_BASH = """# bash completion for crictl (tinykube crictl)
_tinykube_crictl() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" start=1 sub="" i
    if [[ "${{COMP_WORDS[0]}}" == *tinykube ]]; then
        if [[ $COMP_CWORD -eq 1 ]]; then
            COMPREPLY=($(compgen -W "{tinykube_commands}" -- "$cur")); return
        fi
        [[ "${{COMP_WORDS[1]}}" == crictl ]] || return
        start=2
    fi
    for ((i=start; i<COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in -*) ;; *) sub="${{COMP_WORDS[i]}}"; break ;; esac
    done
    case "$sub" in
{cases}
        *) COMPREPLY=($(compgen -W "{commands} {global_flags}" -- "$cur")) ;;
    esac
}}
complete -o default -F _tinykube_crictl crictl
complete -o default -F _tinykube_crictl tinykube
"""


def _bash(parser: argparse.ArgumentParser, host_commands: tuple[str, ...]) -> str:
    commands = subcommands(parser)
    cases = "\n".join(
        f'        {name}) COMPREPLY=($(compgen -W "{" ".join(option_strings(sub))}" -- "$cur")) ;;'
        for name, sub in commands.items()
    )
    return _BASH.format(
        tinykube_commands=" ".join(host_commands),
        cases=cases,
        commands=" ".join(commands),
        global_flags=" ".join(option_strings(parser)),
    )


def _zsh(parser: argparse.ArgumentParser, host_commands: tuple[str, ...]) -> str:
    return (
        "#compdef crictl tinykube\n# zsh completion for crictl (tinykube crictl), via bash completion\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + _bash(parser, host_commands)
    )


def _fish_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _fish(parser: argparse.ArgumentParser, host_commands: tuple[str, ...]) -> str:
    commands = subcommands(parser)
    names = " ".join(commands)
    lines = ["# fish completion for crictl (tinykube crictl)"]
    conditions = {
        "crictl": ("__fish_use_subcommand", "__fish_seen_subcommand_from {name}"),
        "tinykube": (
            f"__fish_seen_subcommand_from crictl; and not __fish_seen_subcommand_from {names}",
            "__fish_seen_subcommand_from crictl; and __fish_seen_subcommand_from {name}",
        ),
    }
    lines.append("complete -c tinykube -n '__fish_use_subcommand' -a crictl -d 'crictl-compatible CLI'")
    for program, (top, inside) in conditions.items():
        for name, sub in commands.items():
            help_text = _fish_escape(sub.description or "")
            lines.append(f"complete -c {program} -f -n '{top}' -a {name} -d '{help_text}'")
            for action in sub._actions:
                longs = [o[2:] for o in action.option_strings if o.startswith("--")]
                shorts = [o[1:] for o in action.option_strings if len(o) == 2]
                if not longs:
                    continue
                flag = f"-l {longs[0]}" + (f" -s {shorts[0]}" if shorts else "")
                description = _fish_escape(action.help or "")
                lines.append(
                    f"complete -c {program} -n '{inside.format(name=name)}' {flag} -d '{description}'"
                )
    return "\n".join(lines) + "\n"


async def completion(session: Session, args: argparse.Namespace) -> int:
    parser = build_parser()
    generate = {"bash": _bash, "zsh": _zsh, "fish": _fish}[args.shell]
    session.out.write(generate(parser, session.host_commands))
    return 0
