"""``qlosync db``: create the database, schema migrations (the same as ``alembic upgrade head``)."""

from __future__ import annotations

import click
from alembic.util import CommandError
from sqlalchemy.engine import make_url

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli
from qlosync.db import migrate


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("create")
@pass_cli
@command_errors
def db_create(cli: CliContext) -> None:
    """Create the database DATABASE_URL names, if it does not exist yet."""
    name = make_url(cli.settings.database_url).database
    created = migrate.create_database(cli.settings.database_url)
    click.echo(f"database {name} {'created' if created else 'already exists'}")


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_cli
@command_errors
def db_upgrade(cli: CliContext, revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    cli.server_engine  # noqa: B018  (fails with one clear line if PostgreSQL is down)
    try:
        migrate.upgrade(cli.settings.database_url, revision, schema=cli.settings.db_schema, pms=cli.settings.pms,
                        ari_days=cli.settings.ari_days)
    except CommandError as exc:  # e.g. a database that is not the PMS QLOSYNC_PMS names: one line, as alembic says it
        raise CliError(str(exc)) from None
    click.echo(f"database at revision {migrate.current_revision(cli.server_engine)}")


@db_group.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Confirm: downgrading drops tables and their data.")
@pass_cli
@command_errors
def db_downgrade(cli: CliContext, revision: str, yes: bool) -> None:
    """Migrate the database down to REVISION ("base" removes every qlosync table)."""
    if not yes:
        click.confirm(f"Downgrade to {revision}? Data in dropped tables is lost.", abort=True)
    cli.server_engine  # noqa: B018
    migrate.downgrade(cli.settings.database_url, revision, schema=cli.settings.db_schema, pms=cli.settings.pms)
    click.echo(f"database at revision {migrate.current_revision(cli.server_engine)}")


@db_group.command("current")
@pass_cli
@command_errors
def db_current(cli: CliContext) -> None:
    """Print the database's revision and the newest one."""
    current = migrate.current_revision(cli.server_engine)
    head = migrate.head_revision(cli.settings.database_url)
    click.echo(f"current {current or '(empty)'}, head {head}{'' if current == head else '  (run: qlosync db upgrade)'}")
