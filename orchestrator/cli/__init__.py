"""The `orchestrator` command: one module per subcommand, registered on the group here.

`orchestrator agent` is added by `orchestrator.entry`, the installed entry point,
so that the commands people run do not import the agent.
"""

from orchestrator.cli import (
    approve,
    check,
    completion,
    demo,
    diff,
    promote,
    publish,
    reconcile,
    reference,
    rollback,
    status,
    suspend,
    validate,
    wait,
)
from orchestrator.cli.main import main

for _module in (
    publish,
    approve,
    promote,
    rollback,
    status,
    diff,
    reconcile,
    validate,
    check,
    wait,
    demo,
    reference,
    completion,
):
    main.add_command(_module.command)
main.add_command(suspend.suspend_command)
main.add_command(suspend.resume_command)

__all__ = ["main"]
