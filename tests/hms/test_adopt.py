"""`qlosync adopt` on a hotelmanangement PMS left as its TypeScript QloApps workers left it.

The PMS (the test double, tests/hms/schema.sql) has one hotel the workers synced with the simulator: their
settings row with the key in their encrypted format, room type, room and customer mappings, reservations their
pull made (rows holding room_bookings ids, two of them from one order) and one their push made (an order id),
plus rows that cannot be adopted; and a second hotel whose key was encrypted with another ENCRYPTION_KEY.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db.models import (
    QloAppsConfig,
    QloAppsCustomerMapping,
    QloAppsReservationMapping,
    QloAppsRoomLineMapping,
    QloAppsRoomMapping,
    QloAppsRoomTypeMapping,
)
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.pms.hotelmanangement.tables import HmsReservationGroup
from qlosync.pms.hotelmanangement.workers_key import master_key
from qlosync.secrets import Secret
from qlosync.states import MatchMethod, Side
from tests.conftest import TEST_API_KEY
from tests.hms.adopt_support import TakenOver, workers_world
from tests.hms.workers import WORKERS_ENCRYPTION_KEY, node_encrypt, workers_encrypt


@pytest.fixture
def taken_over(hms_url: str, simulator: Any, secret_key: Secret) -> Iterator[TakenOver]:
    engine = create_engine(hms_url)
    with workers_world(hms_url, engine, simulator, secret_key) as world:
        yield world
    engine.dispose()


def _rows(taken: TakenOver, model: Any) -> list[Any]:
    with transaction(make_sessionmaker(taken.qlosync)) as session:
        return list(session.scalars(select(model)))


def test_adopt_imports_the_shop_and_every_mapping(taken_over: TakenOver) -> None:
    t = taken_over
    result = t.run()
    assert result.exit_code == 0, result.output

    [shop] = _rows(t, QloAppsConfig)
    assert (shop.name, shop.pms_hotel_id, shop.base_url, shop.id_hotel, shop.sync_enabled) == (
        "seaside-inn", t.hotel, t.base_url, 1, True)
    assert KeyCipher(t.secret_key).decrypt(shop.api_key_encrypted) == Secret(TEST_API_KEY)

    assert {(m.qloapps_room_type_id, m.pms_room_type_id, m.qloapps_hotel_id) for m in _rows(t, QloAppsRoomTypeMapping)} \
        == {(1, t.room_types["general"], 1), (2, t.room_types["delux"], 1)}
    assert {(m.qloapps_room_id, m.qloapps_room_type_id, m.pms_room_id, m.room_number)
            for m in _rows(t, QloAppsRoomMapping)} == {(1, 1, t.rooms["gr-101"], "GR-101"),
                                                        (6, 2, t.rooms["dr-101"], "DR-101")}
    assert {(m.qloapps_customer_id, m.pms_guest_id, m.match_method) for m in _rows(t, QloAppsCustomerMapping)} == {
        (t.customer, t.guest, MatchMethod.EMAIL)}

    r, o, lines = t.reservations, t.orders, t.lines
    assert {(m.qloapps_order_id, m.pms_reservation_id, m.origin) for m in _rows(t, QloAppsReservationMapping)} == {
        (o["a"], r["a"], Side.QLOAPPS), (o["b"], r["b1"], Side.QLOAPPS), (o["c"], r["c"], Side.PMS)}
    # The order of two room types is one port reservation: a group anchored on its older PMS reservation.
    assert {(g.reservation_id, g.group_id, g.hotel_id) for g in _rows(t, HmsReservationGroup)} == {
        (r["a"], r["a"], t.hotel), (r["b1"], r["b1"], t.hotel), (r["b2"], r["b1"], t.hotel)}
    assert {(m.qloapps_order_id, m.qloapps_room_booking_id, m.pms_reservation_line_id)
            for m in _rows(t, QloAppsRoomLineMapping)} == {
        (o["a"], lines["a"], f"{r['a']}#1"), (o["b"], lines["b1"], f"{r['b1']}#1"),
        (o["b"], lines["b2"], f"{r['b2']}#1")}

    output = result.output.splitlines()
    assert output[0] == (f"hotel 'Hill Lodge' ({t.other_hotel}): not adopted")
    assert output[1].startswith("  not adopted: the workers' settings: their API key cannot be decrypted: "
                                "it does not decrypt with this master key")
    assert output[2] == (f"hotel 'Seaside Inn' ({t.hotel}): shop 'seaside-inn' created ({t.base_url}, "
                         "QloApps hotel 1, sync on)")
    assert output[3] == "  room types 2 adopted, rooms 2 adopted, customers 1 adopted, reservations 4 adopted " \
                        "(3 QloApps order(s))"
    assert output[4:6] == [
        f"  not adopted: room type mapping QloApps 3 -> PMS {t.room_types['old']}: unknown room type: the PMS has no "
        "live room type with that id in this hotel",
        f"  not adopted: reservation {r['unknown']} (room_bookings 99999, source qloapps): QloApps has no "
        "room_bookings 99999"]
    assert output[6] == "note: QLOSYNC_PMS is 'builtin': the adopted shops sync only with QLOSYNC_PMS=hotelmanangement"
    assert output[7] == "adopted 1 of 2 hotel(s), 10 new row(s); 3 thing(s) not adopted (listed above)"


def _as_written(lines: list[str]) -> list[str]:
    """A dry run's report in a real run's words."""
    out = []
    for line in lines:
        line = line.replace("would be created", "created").replace(" to adopt", " adopted")
        out.append(re.sub(r"^would adopt (.*) \(dry run: nothing written\)$", r"adopted \1", line))
    return out


def test_a_dry_run_writes_nothing_and_reports_what_a_run_does(taken_over: TakenOver) -> None:
    before = taken_over.snapshot()
    dry = taken_over.run("--dry-run")
    assert dry.exit_code == 0, dry.output
    assert taken_over.snapshot() == before
    assert dry.output.splitlines()[-1].endswith("(dry run: nothing written)")
    real = taken_over.run()
    assert real.exit_code == 0, real.output
    assert _as_written(dry.output.splitlines()) == real.output.splitlines()
    assert taken_over.snapshot() != before


def test_a_second_run_changes_nothing_and_says_so(taken_over: TakenOver) -> None:
    first = taken_over.run()
    assert first.exit_code == 0, first.output
    after_first = taken_over.snapshot()
    second = taken_over.run()
    assert second.exit_code == 0, second.output
    assert taken_over.snapshot() == after_first
    lines = second.output.splitlines()
    assert f"hotel 'Seaside Inn' ({taken_over.hotel}): shop 'seaside-inn' already adopted; nothing new" in lines
    assert "  room types 0 adopted, 2 already there, rooms 0 adopted, 2 already there, customers 0 adopted, " \
           "1 already there, reservations 0 adopted, 4 already there" in lines
    assert lines[-1] == "nothing to change: 1 of 2 hotel(s) already adopted; 3 thing(s) not adopted (listed above)"


def test_no_key_and_no_secret_appear_in_the_output_or_the_logs(taken_over: TakenOver) -> None:
    master = master_key(WORKERS_ENCRYPTION_KEY).value.hex()
    for args in ((), ("--dry-run",)):
        result = taken_over.run(*args, QLOSYNC_LOG_LEVEL="DEBUG")
        assert result.exit_code == 0, result.output
        assert "QloApps GET /api/room_bookings" in result.output  # the logs are in what is searched
        for secret in (TEST_API_KEY, WORKERS_ENCRYPTION_KEY, master, taken_over.secret_key.reveal()):
            assert secret not in result.output


def test_nothing_adoptable_exits_1(taken_over: TakenOver) -> None:
    result = taken_over.run(encryption_key="not the PMS's key")
    assert result.exit_code == 1
    assert result.output.count("their API key cannot be decrypted") == 2
    assert result.output.splitlines()[-1] == "Error: no hotel could be adopted"
    assert _rows(taken_over, QloAppsConfig) == []


def test_a_shop_already_bound_with_other_settings_is_left_alone(taken_over: TakenOver) -> None:
    with transaction(make_sessionmaker(taken_over.qlosync)) as session:
        from qlosync.db.config_store import save_config

        save_config(session, KeyCipher(taken_over.secret_key), name="by-hand", base_url="http://127.0.0.1:9",
                    api_key=Secret(TEST_API_KEY), pms_hotel_id=taken_over.hotel)
    before = taken_over.snapshot()
    result = taken_over.run()
    assert result.exit_code == 1
    assert "  not adopted: shop 'by-hand': already bound to this hotel with other settings (base URL or QloApps " \
           "hotel); left as it is" in result.output.splitlines()
    assert taken_over.snapshot() == before


def test_a_shop_of_the_same_qloapps_hotel_is_not_doubled(taken_over: TakenOver) -> None:
    with transaction(make_sessionmaker(taken_over.qlosync)) as session:
        from qlosync.db.config_store import save_config

        save_config(session, KeyCipher(taken_over.secret_key), name="default", base_url=taken_over.base_url,
                    api_key=Secret(TEST_API_KEY))
    result = taken_over.run()
    assert result.exit_code == 1
    assert "  not adopted: shop 'default': already syncs this QloApps hotel (no PMS hotel): a second shop would " \
           "sync it twice" in result.output.splitlines()


def test_without_encryption_key_the_workers_dev_key_is_used_and_said(taken_over: TakenOver) -> None:
    with taken_over.engine.begin() as connection:
        connection.execute(text("UPDATE public.qloapps_config SET api_key_encrypted = :key WHERE hotel_id = :hotel"),
                           {"key": workers_encrypt(TEST_API_KEY, master_key(None)), "hotel": taken_over.hotel})
    result = taken_over.run(encryption_key=None)
    assert result.exit_code == 0, result.output
    assert "note: ENCRYPTION_KEY is not set: the API keys were decrypted with the TypeScript workers' development " \
           "key (theirs when ENCRYPTION_KEY was not set outside production)" in result.output.splitlines()
    # ... and never in production, where the workers had none either.
    refused = taken_over.run(encryption_key=None, NODE_ENV="production")
    assert refused.exit_code == 1
    assert "ENCRYPTION_KEY is not set" in refused.output


def test_the_next_run_keeps_a_soft_deleted_member_out_of_the_anchor(taken_over: TakenOver) -> None:
    with taken_over.engine.begin() as connection:
        connection.execute(text("UPDATE public.reservations SET deleted_at = now() WHERE id = :id"),
                           {"id": taken_over.reservations["b1"]})
    assert taken_over.run().exit_code == 0
    groups = {g.reservation_id: g.group_id for g in _rows(taken_over, HmsReservationGroup)}
    r = taken_over.reservations
    assert groups[r["b1"]] == groups[r["b2"]] == r["b2"]


def test_a_database_without_the_pms_says_so(db_factory: Any, secret_key: Secret) -> None:
    url = db_factory()
    result = CliRunner().invoke(cli, ["adopt"], env={"DATABASE_URL": url, "QLOSYNC_SECRET_KEY": secret_key.reveal()})
    assert result.exit_code == 1
    assert "it is not a hotelmanangement PMS whose QloApps workers could be taken over" in result.output


def test_a_key_node_encrypted_is_adopted(taken_over: TakenOver) -> None:
    # The settings row exactly as the workers' own code (Node's crypto) wrote it.
    with taken_over.engine.begin() as connection:
        connection.execute(text("UPDATE public.qloapps_config SET api_key_encrypted = :key WHERE hotel_id = :hotel"),
                           {"key": node_encrypt(TEST_API_KEY, WORKERS_ENCRYPTION_KEY), "hotel": taken_over.hotel})
    assert taken_over.run().exit_code == 0
    [shop] = _rows(taken_over, QloAppsConfig)
    assert KeyCipher(taken_over.secret_key).decrypt(shop.api_key_encrypted) == Secret(TEST_API_KEY)


def test_a_qloapps_that_cannot_be_asked_leaves_only_the_pulled_reservations_out(taken_over: TakenOver) -> None:
    with taken_over.engine.begin() as connection:
        connection.execute(text("UPDATE public.qloapps_config SET base_url = 'http://127.0.0.1:9' WHERE hotel_id = :h"),
                           {"h": taken_over.hotel})
    result = taken_over.run()
    assert result.exit_code == 0, result.output
    refused = [line for line in result.output.splitlines() if "QloApps could not be asked" in line]
    assert len(refused) == 4  # a, b1, b2 and the unknown one: every room_bookings row
    assert all("QloAppsConnectionError" in line for line in refused)
    # The order the workers' push made needs no question: it is adopted (a later run, once QloApps answers,
    # adds the others).
    assert {(m.qloapps_order_id, m.origin) for m in _rows(taken_over, QloAppsReservationMapping)} == {
        (taken_over.orders["c"], Side.PMS)}


def test_rows_the_workers_switched_off_are_not_adopted(taken_over: TakenOver) -> None:
    t = taken_over
    other_guest = t.pms.guest(t.hotel, "Ada Lovelace", "ada@example.com")
    t.pms.map_customer(t.hotel, other_guest, 77, active=False)
    result = t.run()
    assert result.exit_code == 0, result.output
    assert f"  not adopted: customer mapping QloApps 77 -> PMS guest {other_guest}: inactive in the workers' table" \
        in result.output.splitlines()
    assert [m.qloapps_customer_id for m in _rows(t, QloAppsCustomerMapping)] == [t.customer]


def test_a_hotel_whose_workers_stored_no_key_says_so(taken_over: TakenOver) -> None:
    with taken_over.engine.begin() as connection:
        connection.execute(text("UPDATE public.qloapps_config SET api_key_encrypted = '' WHERE hotel_id = :h"),
                           {"h": taken_over.other_hotel})
    result = taken_over.run()
    lines = result.output.splitlines()
    assert lines[:2] == [f"hotel 'Hill Lodge' ({taken_over.other_hotel}): not adopted",
                         "  not adopted: the workers' settings: their API key cannot be decrypted: no API key is stored"]
