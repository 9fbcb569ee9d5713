"""``qlosync broker``: declare qlosync's RabbitMQ topology (and upgrade queues declared differently)."""

from __future__ import annotations

import click

from qlosync.cli.context import RET_ERROR, CliContext, CliError, command_errors, pass_cli
from qlosync.runtime.topology import DOCS_HINT, SHARING_DOCS_HINT, redact_url, setup_topology


@click.group("broker")
def broker_group() -> None:
    """RabbitMQ topology: work queues, delay queues and the shared dead-letter queue."""


@broker_group.command("setup")
@click.option("--recreate-empty", is_flag=True,
              help="Delete and re-declare a conflicting queue of an older qlosync, but only if it is empty and has "
                   "no consumers (never another application's queue).")
@pass_cli
@command_errors
def broker_setup(cli: CliContext, recreate_empty: bool) -> None:
    """Declare every qlosync queue; report queues RabbitMQ refuses to redeclare."""
    states = setup_topology(cli.settings.rabbitmq_url, recreate_empty=recreate_empty)
    click.echo(f"RabbitMQ {redact_url(cli.settings.rabbitmq_url)}")
    for state in states:
        counts = "" if state.messages is None else f" ({state.messages} messages, {state.consumers} consumers)"
        detail = f": {state.detail}" if state.detail and state.conflict is None else ""
        click.echo(f"  {state.status:9} {state.name}{counts}{detail}")
        if state.conflict is not None:
            # One paragraph per conflicting queue (every argument that differs, whose queue it is, the fix), on
            # one line: the commands in it stay whole for copying.
            why = f"{state.detail}. " if recreate_empty else ""
            click.echo(f"    {why}{state.conflict.paragraph()}")
    conflicts = [s for s in states if s.status == "conflict"]
    if conflicts:
        foreign = [s for s in conflicts if s.conflict is not None and s.conflict.foreign]
        legacy = len(foreign) < len(conflicts)
        hint = "stop the workers and run `qlosync broker setup --recreate-empty`; " if legacy and not recreate_empty else ""
        docs = "; ".join(([DOCS_HINT] if legacy else []) + ([SHARING_DOCS_HINT] if foreign else []))
        names = ", ".join(s.name for s in conflicts)
        raise CliError(f"{len(conflicts)} queue(s) conflict: {names} (see above); {hint}{docs}", RET_ERROR)
