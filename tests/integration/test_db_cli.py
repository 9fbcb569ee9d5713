"""`qlosync db create`: the database DATABASE_URL names, created on a server that does not have it yet."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from qlosync.cli import cli
from tests.conftest import database_url_for


def _exists(pg_admin, name: str) -> bool:  # type: ignore[no-untyped-def]
    with pg_admin.connect() as connection:
        return bool(connection.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}))


def test_db_create_creates_the_database_once_then_says_it_is_there(pg_admin, unused_database_name):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url_for(unused_database_name)}
    first = runner.invoke(cli, ["db", "create"], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"database {unused_database_name} created"
    assert _exists(pg_admin, unused_database_name)
    # Safe to run again (a guide's line a user may repeat)
    again = runner.invoke(cli, ["db", "create"], env=env)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"database {unused_database_name} already exists"
    upgraded = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0 and "database at revision" in upgraded.output, upgraded.output


def test_db_create_without_the_server_is_exit_code_3():
    result = CliRunner().invoke(cli, ["db", "create"],
                                env={"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/qlosync"})
    assert result.exit_code == 3, result.output
