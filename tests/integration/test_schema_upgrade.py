"""A database the previous release migrated (every table in public, data in them) upgrades in place to qlosync's
own schema and keeps syncing without a duplicate.

The data is written by today's code, then the database is downgraded to the previous release's head (0009, every
table in public, integer PMS ids with foreign keys, no hotels): the layout and rows that release left, without
running its code."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from qlosync.db import migrate
from qlosync.db.models import QloAppsReservationMapping
from qlosync.pms.builtin.tables import PmsReservation
from qlosync.db.session import transaction
from qlosync.settings import DEFAULT_DB_SCHEMA
from qlosync.sync.inbound.pull import run_pull
from tests.integration.schema_support import (PREVIOUS_RELEASE_HEAD, database_settings, functions_in,
                                              plain_engine, tables_in)

QLOSYNC_TABLES_WITH_DATA = ("qloapps_config", "qloapps_sync_state", "qloapps_sync_cursor", "qloapps_room_type_mappings",
                            "qloapps_room_mappings", "qloapps_reservation_mappings", "qloapps_room_line_mappings",
                            "qloapps_customer_mappings")


@pytest.fixture
def database_url(db_factory) -> str:  # type: ignore[no-untyped-def]
    """This module's database, migrated to head (the test takes it down to the previous release)."""
    return str(db_factory())


def _counts(connection, schema: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {table: connection.scalar(text(f"SELECT count(*) FROM {schema}.{table}"))
            for table in (*QLOSYNC_TABLES_WITH_DATA, "pms_reservations")}


def test_a_previous_release_database_upgrades_in_place_and_keeps_syncing_without_a_duplicate(
    builtin_pms, database_url, engine, simulator, deps, session_factory, mapped_catalog, shop
):  # builtin_pms first: the previous release only knew the built-in PMS, whose database this module makes
    # Given the previous release's database, every table in public, holding a shop, its runs and mappings,
    # and PMS reservations with theirs
    simulator.store.generate_bookings(20, seed=11)
    first = run_pull(deps, kind="incremental", trigger="manual")
    assert first.status == "succeeded" and first.counts["created"] == 20
    engine.dispose()
    migrate.downgrade(database_url, PREVIOUS_RELEASE_HEAD)
    plain = plain_engine(database_url)
    with plain.connect() as c:
        assert tables_in(c, DEFAULT_DB_SCHEMA) == set()
        before = {table: c.scalar(text(f"SELECT count(*) FROM public.{table}"))
                  for table in (*QLOSYNC_TABLES_WITH_DATA, "pms_reservations")}
        assert c.scalar(text("SELECT version_num FROM public.alembic_version")) == PREVIOUS_RELEASE_HEAD
    assert all(before.values()), before

    # When it is upgraded (qlosync's processes stopped, then started again: a fresh pool)
    migrate.upgrade(database_url)

    # Then the data is in qlosync's schema, none of qlosync's tables is left in public, the PMS's are there
    with plain.connect() as c:
        moved = {table: c.scalar(text(f"SELECT count(*) FROM {DEFAULT_DB_SCHEMA}.{table}"))
                 for table in QLOSYNC_TABLES_WITH_DATA}
        moved["pms_reservations"] = c.scalar(text("SELECT count(*) FROM public.pms_reservations"))
        public = tables_in(c, "public")
        assert c.scalar(text(f"SELECT version_num FROM {DEFAULT_DB_SCHEMA}.alembic_version")) == migrate.head_revision(
            database_url)
        assert {schema for schema, _config in functions_in(c).values()} == {DEFAULT_DB_SCHEMA}
        assert database_settings(c) == [f"search_path={DEFAULT_DB_SCHEMA}, public"]
    assert moved == before
    assert public == {name for name in public if name.startswith("pms_")}, public
    # The ids go on from where they were (the sequences moved with their tables)
    with transaction(session_factory) as session:
        assert session.scalar(text("SELECT nextval(pg_get_serial_sequence('qloapps_sync_state', 'id'))")) > \
            before["qloapps_sync_state"]

    # And pulls after the upgrade bring new bookings and duplicate none
    simulator.store.generate_bookings(3, seed=12)
    again = run_pull(deps, kind="full", trigger="manual")
    assert again.status == "succeeded"
    assert (again.counts["created"], again.counts["unchanged"], again.counts["failed"]) == (3, 20, 0)
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(PmsReservation)) == 23
        per_order = session.execute(select(QloAppsReservationMapping.qloapps_order_id, func.count())
                                    .group_by(QloAppsReservationMapping.qloapps_order_id)).all()
    assert len(per_order) == 23 and {n for _order, n in per_order} == {1}
    plain.dispose()
