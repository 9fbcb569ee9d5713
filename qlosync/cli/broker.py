"""``qlosync broker``: declare qlosync's RabbitMQ topology (and upgrade queues declared differently)."""

from __future__ import annotations

import click

from qlosync.cli.context import RET_ERROR, CliContext, CliError, command_errors, pass_cli
from qlosync.runtime.topology import DOCS_HINT, redact_url, setup_topology


@click.group("broker")
def broker_group() -> None:
    """RabbitMQ topology: work queues, delay queues and the shared dead-letter queue."""


@broker_group.command("setup")
@click.option("--recreate-empty", is_flag=True,
              help="Delete and re-declare a conflicting queue, but only if it is empty and has no consumers.")
@pass_cli
@command_errors
def broker_setup(cli: CliContext, recreate_empty: bool) -> None:
    """Declare every qlosync queue; report queues RabbitMQ refuses to redeclare."""
    states = setup_topology(cli.settings.rabbitmq_url, recreate_empty=recreate_empty)
    click.echo(f"RabbitMQ {redact_url(cli.settings.rabbitmq_url)}")
    for state in states:
        counts = "" if state.messages is None else f" ({state.messages} messages, {state.consumers} consumers)"
        detail = f": {state.detail}" if state.detail else ""
        click.echo(f"  {state.status:9} {state.name}{counts}{detail}")
    conflicts = [s.name for s in states if s.status == "conflict"]
    if conflicts:
        hint = "" if recreate_empty else "stop the workers and run `qlosync broker setup --recreate-empty`; "
        raise CliError(f"{len(conflicts)} queue(s) conflict: {', '.join(conflicts)}; {hint}{DOCS_HINT}", RET_ERROR)
