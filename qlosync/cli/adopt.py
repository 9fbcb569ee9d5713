"""``qlosync adopt``: take over from the hotelmanangement PMS's TypeScript QloApps workers (qlosync.ops.adopt)."""

from __future__ import annotations

import os

import click

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli
from qlosync.db.session import make_sessionmaker
from qlosync.ops.adopt import adopt


@click.command("adopt")
@click.option("--dry-run", is_flag=True, help="Say what would be adopted, without writing anything.")
@pass_cli
@command_errors
def adopt_command(cli: CliContext, dry_run: bool) -> None:
    """Make a shop of every hotel the PMS's TypeScript QloApps workers synced, with their mappings.

    Reads the PMS's public.qloapps_config and mapping tables (never changes them); the API keys are decrypted
    with the PMS's ENCRYPTION_KEY (from the environment, as the workers read it) and stored encrypted with
    QLOSYNC_SECRET_KEY. Running it again adds only what is new. Exits 1 when no hotel could be adopted.
    """
    report = adopt(cli.settings, make_sessionmaker(cli.engine), encryption_key=os.environ.get("ENCRYPTION_KEY"),
                   node_env=os.environ.get("NODE_ENV"), dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
    if not report.adopted_any:
        raise CliError("no hotel could be adopted")
