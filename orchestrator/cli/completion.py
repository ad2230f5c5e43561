"""`orchestrator completion SHELL`: the shell's completion script, from click's own support."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

PROG = "orchestrator"
COMPLETE_VAR = "_ORCHESTRATOR_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (commands, options, choices).

    \b
    bash:  orchestrator completion bash > ~/.local/share/bash-completion/completions/orchestrator
    zsh:   orchestrator completion zsh > "${fpath[1]}/_orchestrator"
    fish:  orchestrator completion fish > ~/.config/fish/completions/orchestrator.fish

    Or for the current shell only: eval "$(orchestrator completion bash)".
    """
    completion = get_completion_class(shell)
    if completion is None:  # click knows all three; a guard against its future changes
        raise click.BadParameter(f"click has no completion for {shell}", param_hint="SHELL")
    root = ctx.find_root().command
    click.echo(completion(root, {}, PROG, COMPLETE_VAR).source())
