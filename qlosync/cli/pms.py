"""``qlosync pms``: the PMS's database as qlosync sees it (``check``: can the adapter drive it?)."""

from __future__ import annotations

import click

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli
from qlosync.pms.checks import SCHEMA_CHECKS, check_schema


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
