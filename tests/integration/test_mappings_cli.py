"""`qlosync mappings import / list / set` against the simulator's catalog."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from qlosync.cli import cli
from qlosync.db.models import QloAppsRoomMapping, QloAppsRoomTypeMapping
from qlosync.db.session import transaction
from qlosync.pms import open_pms, shop_hotel
from tests.pms_desk import desk_for


def _env(database_url, secret_key):  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}


def test_import_maps_by_name_and_number_creating_what_is_missing_and_is_idempotent(
    shop, engine, session_factory, database_url, secret_key, pms_environ
):
    # Given the PMS already has a "Delux Rooms" type and a room DR-101
    desk = desk_for(engine)
    delux = desk.room_type("DLX", "delux rooms")
    desk.room(delux, "DR-101")
    runner = CliRunner()
    # When the catalog is imported twice
    first = runner.invoke(cli, ["mappings", "import"], env=_env(database_url, secret_key))
    second = runner.invoke(cli, ["mappings", "import"], env=_env(database_url, secret_key))
    # Then the existing type and room were reused, the rest created, and the second import changed nothing
    assert first.exit_code == 0, first.output
    assert "room types: 4 mapped (3 created in the PMS)" in first.output
    assert "rooms: 20 mapped (19 created)" in first.output
    assert "room types: 0 mapped (0 created in the PMS), 4 already mapped; rooms: 0 mapped" in second.output
    with transaction(session_factory) as session:
        assert session.scalar(select(QloAppsRoomTypeMapping.pms_room_type_id).where(
            QloAppsRoomTypeMapping.qloapps_room_type_id == 2)) == delux
        assert session.scalar(select(func.count()).select_from(QloAppsRoomMapping)) == 20
        assert len(shop_hotel(open_pms(session), None).rooms()) == 20
    listing = runner.invoke(cli, ["mappings", "list"], env=_env(database_url, secret_key))
    assert "Delux Rooms" in listing.output and "DLX" in listing.output


def test_set_refuses_unknown_or_already_used_pms_room_types(shop, mapped_catalog, database_url, secret_key,
                                                            pms_environ):
    runner = CliRunner()
    unknown = runner.invoke(cli, ["mappings", "set", "1", "NOPE"], env=_env(database_url, secret_key))
    assert unknown.exit_code == 1 and "no PMS room type with id or code 'NOPE'" in unknown.output
    taken = runner.invoke(cli, ["mappings", "set", "1", "QLO-1-2"], env=_env(database_url, secret_key))
    assert taken.exit_code == 1 and "already mapped to QloApps room type 2" in taken.output
    # Ids are the PMS's opaque text: long digits or other scripts are looked up like any id, never crashed on
    for odd in ("99999999999", "\u0663"):
        result = runner.invoke(cli, ["mappings", "set", "1", odd], env=_env(database_url, secret_key))
        assert result.exit_code == 1 and f"no PMS room type with id or code {odd!r}" in result.output


def test_import_refuses_a_hotel_that_qloapps_does_not_have(shop, database_url, secret_key, pms_environ):
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "set", "--hotel-id", "7"], env=_env(database_url, secret_key)).exit_code == 0
    result = runner.invoke(cli, ["mappings", "import"], env=_env(database_url, secret_key))
    assert result.exit_code == 1
    assert "QloApps has no hotel 7 (hotels: 1 (The Hotel Prime))" in result.output
