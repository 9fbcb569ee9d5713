"""``qlosync pms``: the PMS's database as qlosync sees it (``check``: can the adapter drive it?; ``install`` and
``uninstall``: its change capture)."""

from __future__ import annotations

import click

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.pms import capture
from qlosync.pms.checks import SCHEMA_CHECKS, check_schema, pms_mismatch


@click.group("pms")
def pms_group() -> None:
    """Inspect the PMS database qlosync syncs with."""


@pms_group.command("check")
@click.option("--pms", "pms_name", type=click.Choice(sorted(SCHEMA_CHECKS)), default=None,
              help="Which PMS the database should be (default: QLOSYNC_PMS, else builtin).")
@pass_cli
@command_errors
def pms_check(cli: CliContext, pms_name: str | None) -> None:
    """Say whether the database has the tables, columns and constraints the PMS adapter needs.

    Prints "ok: ..." and exits 0, or one line per problem and exits 1.
    """
    name = pms_name or cli.settings.pms
    # The server engine: the PMS's tables are checked whatever revision qlosync's own schema is at.
    with cli.server_engine.connect() as connection:
        problems = check_schema(connection, name)
    if problems:
        for problem in problems:
            click.echo(problem)
        raise CliError(f"the database is not a {name} PMS qlosync can drive ({len(problems)} problems)")
    click.echo(f"ok: the database is a {name} PMS qlosync can drive")


@pms_group.command("install")
@pass_cli
@command_errors
def pms_install(cli: CliContext) -> None:
    """Install the change capture of the PMS QLOSYNC_PMS names (idempotent; `alembic upgrade head` does it too).

    Refuses, in one line, a database that is not that PMS.
    """
    name = cli.settings.pms
    with cli.session() as session:
        problem = pms_mismatch(session.connection(), name)
        if problem is not None:
            raise CliError(problem)
        created = capture.install(session, name, ari_days=cli.settings.ari_days)
    for item in created:
        click.echo(f"created {item}")
    click.echo(f"the {name} PMS's change capture is installed" + ("" if created else " (it already was)"))


@pms_group.command("uninstall")
@pass_cli
@command_errors
def pms_uninstall(cli: CliContext) -> None:
    """Remove the change capture of the PMS QLOSYNC_PMS names: the PMS's writes stop reaching QloApps.

    For hotelmanangement, its qlosync_* triggers and their functions; for the built-in PMS, its triggers
    (`qlosync pms install` puts them back). Idempotent.
    """
    name = cli.settings.pms
    # Whatever revision qlosync's schema is at: taking the triggers off must not wait for an upgrade.
    with transaction(make_sessionmaker(cli.server_engine)) as session:
        removed = capture.remove(session, name)
    for item in removed:
        click.echo(f"removed {item}")
    click.echo(f"the {name} PMS's change capture is removed" + ("" if removed else " (nothing was installed)"))
