"""The `orchestrator` command: one module per subcommand, registered on the group here."""

from orchestrator.cli import (
    agent,
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
    agent,
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
