"""`alembic upgrade head` beside the hotelmanangement PMS: it installs the capture on that PMS's database, refuses
any other database in one line, and changes nothing of the PMS's own schema and rows but the qlosync_* triggers,
which `qlosync pms uninstall` takes away again.

alembic runs as a subprocess, as a deployment runs it (the compose file's migrate service). The comparison
concerns the PMS's own tables (those of the double): qlosync's migrations also create the built-in PMS's pms_*
tables in public, a known wart checked here as exactly that and nothing more.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Connection, Engine, create_engine, text

from qlosync.cli import cli
from qlosync.db.base import Base
from qlosync.pms.builtin import tables as _builtin_tables  # noqa: F401  (registers the pms_* tables)
from qlosync.pms.hotelmanangement.changes import TRIGGERS
from tests.hms.capture_support import HMS, add_guest, add_reservation, add_room_type, outbox, qlosync_engine
from tests.hms.double import load_double

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC = str(Path(sys.executable).with_name("alembic"))
QLOSYNC_TRIGGERS = {(t.table, t.name) for t in TRIGGERS}  # tables as regclass prints them (public is on the path)
LOG_LINE = re.compile(r"^(INFO|WARNI) +\[")  # alembic.ini's format: the migrations' progress and warnings
BUILTIN_PMS_TABLES = {table.name for table in Base.metadata.sorted_tables if table.name.startswith("pms_")}


def alembic(url: str, *args: str, pms: str | None = HMS) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_", "DATABASE_URL"))}
    env["DATABASE_URL"] = url
    if pms is not None:
        env["QLOSYNC_PMS"] = pms
    return subprocess.run([ALEMBIC, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What alembic said besides the migrations' log lines."""
    return [line for line in (result.stdout + result.stderr).splitlines() if not LOG_LINE.match(line)]


# --- the PMS's schema, as data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    tables: frozenset[str]  # every table in public
    schema: dict[str, Any]  # the PMS's tables: columns, constraints, indexes, sequences, functions in public
    triggers: frozenset[tuple[str, str, str]]  # (table, name, definition) on the PMS's tables
    rows: dict[str, str]  # table -> its rows, as sorted JSON


def snapshot(engine: Engine, pms_tables: frozenset[str] | None = None) -> Snapshot:
    with engine.connect() as connection:
        tables = frozenset(connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        own = pms_tables if pms_tables is not None else tables
        params = {"tables": sorted(own)}
        schema = {
            "columns": _all(connection, "SELECT table_name, column_name, ordinal_position, data_type, "
                            "character_maximum_length, numeric_precision, numeric_scale, is_nullable, column_default "
                            "FROM information_schema.columns WHERE table_schema = 'public' "
                            "AND table_name = ANY(:tables)", params),
            "constraints": _all(connection, "SELECT r.relname, k.conname, pg_get_constraintdef(k.oid) "
                                "FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid "
                                "WHERE r.relnamespace = 'public'::regnamespace AND r.relname = ANY(:tables)", params),
            "indexes": _all(connection, "SELECT tablename, indexname, indexdef FROM pg_indexes "
                            "WHERE schemaname = 'public' AND tablename = ANY(:tables)", params),
            "sequences": _all(connection, "SELECT sequencename, last_value FROM pg_sequences "
                              "WHERE schemaname = 'public' AND sequencename NOT LIKE 'pms\\_%'", {}),
            "functions": _all(connection, "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
                              "WHERE p.pronamespace = 'public'::regnamespace", {}),
        }
        triggers = frozenset((str(a), str(b), str(c)) for a, b, c in connection.execute(text(
            "SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal "
            "AND r.relnamespace = 'public'::regnamespace AND r.relname = ANY(:tables)"), params))
        rows = {table: str(connection.scalar(text(
            f'SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), \'[]\')::text FROM public."{table}" t')))
            for table in sorted(own)}
    return Snapshot(tables, schema, triggers, rows)


def _all(connection: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in connection.execute(text(sql), params)), key=repr)


def pms_rows(url: str) -> None:
    """A hotel's day in the PMS before qlosync arrives: guests, a room type with its rooms, reservations."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            guest = add_guest(connection, "Ann Lee", "ann@example.test")
            room_type = add_room_type(connection, qty=3)
            add_reservation(connection, guest, room_type, date(2030, 1, 10), date(2030, 1, 13), units=2)
            cancelled = add_reservation(connection, guest, room_type, date(2030, 2, 1), date(2030, 2, 2))
            connection.execute(text("UPDATE public.reservations SET status = 'Cancelled' WHERE id = :id"),
                               {"id": cancelled})
    finally:
        engine.dispose()


def qlosync_triggers(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as connection:
        return {(str(table), str(name)) for table, name in connection.execute(text(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'qlosync%' "
            "AND tgrelid::regclass::text NOT LIKE 'pms\\_%'"))}


# --- the tests -----------------------------------------------------------------------------------------------


def test_upgrade_installs_only_triggers_and_uninstall_gives_back_the_pms_schema(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory(migrated=False)
    load_double(url).dispose()
    pms_rows(url)
    plain = create_engine(url)  # search_path public, as the PMS connects
    try:
        before = snapshot(plain)
        assert "knex_migrations" in before.tables and before.rows["knex_migrations"] != "[]"
        assert not any(name.startswith("qlosync") for _, name, _ in before.triggers)
        pms_tables = before.tables

        result = alembic(url, "upgrade", "head")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "INFO  [alembic.env] hotelmanangement PMS's change capture: installed " in result.stderr
        upgraded = snapshot(plain, pms_tables)
        # The wart: the built-in PMS's pms_* tables land in public too; nothing else new there
        assert upgraded.tables - before.tables == BUILTIN_PMS_TABLES
        assert upgraded.schema == before.schema
        assert upgraded.rows == before.rows
        assert {(table, name) for table, name, _ in upgraded.triggers - before.triggers} == QLOSYNC_TRIGGERS
        assert before.triggers <= upgraded.triggers

        again = alembic(url, "upgrade", "head")  # idempotent: a second upgrade changes nothing
        assert again.returncode == 0 and "change capture: already installed" in again.stderr, again.stderr
        assert snapshot(plain, pms_tables) == upgraded

        uninstall = CliRunner().invoke(cli, ["pms", "uninstall"], env={"DATABASE_URL": url, "QLOSYNC_PMS": HMS})
        assert uninstall.exit_code == 0, uninstall.output
        assert len([line for line in uninstall.output.splitlines() if line.startswith("removed ")]) == 14
        after = snapshot(plain, pms_tables)
        assert (after.schema, after.triggers, after.rows) == (before.schema, before.triggers, before.rows)
        with plain.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'qlosync_hms%'")) == 0

        install = CliRunner().invoke(cli, ["pms", "install"], env={"DATABASE_URL": url, "QLOSYNC_PMS": HMS})
        assert install.exit_code == 0, install.output
        assert install.output.splitlines()[-1] == "the hotelmanangement PMS's change capture is installed"
        assert snapshot(plain, pms_tables) == upgraded
    finally:
        plain.dispose()


def test_upgrade_on_a_database_without_that_pms_refuses_in_one_line_and_leaves_nothing(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory(migrated=False)
    result = alembic(url, "upgrade", "head")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = said(result)
    assert line.startswith("the database is not the hotelmanangement PMS QLOSYNC_PMS names: table hotels missing; "
                           "table guests missing;"), line
    engine = create_engine(url)
    try:
        with engine.connect() as connection:  # the upgrade's transaction rolled back: not even qlosync's schema
            assert connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = 'qlosync'")) == 0
            assert connection.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) == 0
    finally:
        engine.dispose()
    # `qlosync db upgrade` says the same line
    upgrade = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": url, "QLOSYNC_PMS": HMS})
    assert upgrade.exit_code == 1
    assert upgrade.output.splitlines() == [f"Error: {line}"]


def test_a_database_missing_one_column_is_refused_naming_it(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory(migrated=False)
    engine = load_double(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE reservations DROP COLUMN units_requested"))
    finally:
        engine.dispose()
    result = alembic(url, "upgrade", "head")
    assert result.returncode == 1
    assert said(result) == ["the database is not the hotelmanangement PMS QLOSYNC_PMS names: "
                            "column reservations.units_requested missing"]


def test_with_the_built_in_pms_the_upgrade_installs_nothing_on_the_pms_tables(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory(migrated=False)
    load_double(url).dispose()
    result = alembic(url, "upgrade", "head", pms=None)
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    try:
        assert qlosync_triggers(engine) == set()
    finally:
        engine.dispose()


def test_a_downgrade_below_the_outbox_takes_the_capture_away(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory(migrated=False)
    load_double(url).dispose()
    assert alembic(url, "upgrade", "head").returncode == 0
    plain = create_engine(url)
    try:
        assert qlosync_triggers(plain) == QLOSYNC_TRIGGERS
        result = alembic(url, "downgrade", "0011")
        assert result.returncode == 0, result.stderr
        assert "removed the hotelmanangement PMS's change capture" in result.stderr
        assert qlosync_triggers(plain) == set()
        # hms_outbox is gone: a trigger left behind would fail the PMS's own writes; they work
        pms_rows(url)
        assert alembic(url, "upgrade", "head").returncode == 0
        assert qlosync_triggers(plain) == QLOSYNC_TRIGGERS
    finally:
        plain.dispose()
    engine = qlosync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE public.reservations SET notes = 'after' WHERE status = 'Confirmed'"))
        assert [row.operation for row in outbox(engine)] == ["update"]
    finally:
        engine.dispose()


def test_install_refuses_a_database_that_is_not_the_pms(db_factory) -> None:  # type: ignore[no-untyped-def]
    url = db_factory()  # qlosync's own, with the built-in PMS
    result = CliRunner().invoke(cli, ["pms", "install"], env={"DATABASE_URL": url, "QLOSYNC_PMS": HMS})
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith("Error: the database is not the hotelmanangement PMS QLOSYNC_PMS names: table hotels "
                           "missing"), line
    nothing = CliRunner().invoke(cli, ["pms", "uninstall"], env={"DATABASE_URL": url, "QLOSYNC_PMS": HMS})
    assert nothing.exit_code == 0
    assert nothing.output == "the hotelmanangement PMS's change capture is removed (nothing was installed)\n"
