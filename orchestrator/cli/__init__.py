"""The `orchestrator` command: one module per subcommand, registered on the group here.

`orchestrator agent` is added by `orchestrator.entry`, the installed entry point,
so that the commands people run do not import the agent. The subcommands are
imported when first named (or listed, for help and completion), so that the
agent does not hold the code of every command, and a command does not import
what the others need.
"""

from orchestrator.cli.main import main

main.lazy_commands.update(
    {
        "publish": "orchestrator.cli.publish:command",
        "approve": "orchestrator.cli.approve:command",
        "promote": "orchestrator.cli.promote:command",
        "rollback": "orchestrator.cli.rollback:command",
        "status": "orchestrator.cli.status:command",
        "diff": "orchestrator.cli.diff:command",
        "reconcile": "orchestrator.cli.reconcile:command",
        "validate": "orchestrator.cli.validate:command",
        "check": "orchestrator.cli.check:command",
        "wait": "orchestrator.cli.wait:command",
        "demo": "orchestrator.cli.demo:command",
        "config-reference": "orchestrator.cli.reference:command",
        "completion": "orchestrator.cli.completion:command",
        "suspend": "orchestrator.cli.suspend:suspend_command",
        "resume": "orchestrator.cli.suspend:resume_command",
    }
)

__all__ = ["main"]
