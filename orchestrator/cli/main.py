"""The top-level group: global options, logging, and one-line errors instead of tracebacks.

Expected failures (anything in the project's exception tree) print their message,
one line per problem, and exit 1; `-v` adds the traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

import click

from orchestrator import __version__
from orchestrator.cli import logs
from orchestrator.cli.logs import LogFormat
from orchestrator.errors import OrchestratorError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_TIMEOUT = 4

_EPILOG = """\b
Exit codes:
  0  success
  1  the operation failed (the message says why; -v adds the traceback)
  2  usage error (unknown option, missing argument, invalid name)
  3  validate found problems in the policy or the manifests (publish: in the files)
  4  wait timed out before the delivery reached the phase
"""


class _Main(click.Group):
    """Turns the project's own errors into one readable line instead of a traceback.

    Subcommands named in `lazy_commands` (`module:attribute`) are imported when
    first asked for, so a process imports the code of the commands it runs only.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy_commands.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module, _, attribute = target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OrchestratorError as exc:
            self._fail(ctx, exc, EXIT_FAILED)
        except ValueError as exc:
            # Names the protocol refuses (an environment like `Prod/EU`, a feature
            # with `..`) are usage errors, not crashes.
            self._fail(ctx, exc, EXIT_USAGE)

    @staticmethod
    def _fail(ctx: click.Context, exc: Exception, code: int) -> None:
        """The message, every line of it (each is one problem); -v adds the traceback."""
        first, _, rest = str(exc).partition("\n")
        click.secho(f"error: {first}", fg="red", err=True)
        if rest:
            click.echo(rest, err=True)
        if ctx.meta.get("orchestrator.verbose"):
            click.echo("".join(traceback.format_exception(exc)), err=True)
        sys.exit(code)


@click.group(
    cls=_Main,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG,
)
@click.version_option(__version__, prog_name="orchestrator")
@click.option("-v", "--verbose", count=True, help="More detail: -v details, -vv debug logs.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="ORCHESTRATOR_LOG_FORMAT",
    help="Logs on stderr as text, or one JSON object per line for log pipelines "
    "[env: ORCHESTRATOR_LOG_FORMAT].",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, log_format: LogFormat) -> None:
    """Deliver Kubernetes configuration across clusters, with Git as the message bus.

    One agent runs per cluster. It polls its environment's branch, applies what
    arrives with server-side apply, checks health, records the outcome as a git
    note and pushes a promotion commit towards the next environment. Everything
    the agents say is in the repository: `orchestrator status` shows it from any
    clone.
    """
    ctx.meta["orchestrator.verbose"] = verbose
    logs.configure(verbose=verbose, log_format=log_format)
