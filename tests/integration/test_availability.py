"""Availability: closed nights and out-of-order rooms are not sellable in QloApps (simulator over HTTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from qlosync.db.session import make_sessionmaker, transaction
from qlosync.ops.status import collect_status
from qlosync.pms import open_pms, shop_hotel
from qlosync.sync.ari.availability import push_availability
from qlosync.sync.inbound.pull import run_pull
from qlosync.sync.outbound.push import push_reservation
from tests.integration.ari_support import ROOMS, close_nights, sellable
from tests.outbound_fixtures import TODAY, front_desk_reservation, pms_room_type
from tests.pms_desk import desk_for

NIGHT = TODAY + timedelta(days=60)


def _pms_room(engine: Engine, room_type: str) -> str:
    """The first room of the PMS room type, read through the port."""
    with Session(engine) as session:
        return next(room.id for room in shop_hotel(open_pms(session), None).rooms() if room.room_type_id == room_type)


@pytest.fixture
def room_type(shop, mapped_catalog, session_factory) -> int:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return pms_room_type(session, shop.id, 2)


def test_a_closed_night_is_not_sold_and_reopening_it_sells_it_again(engine, client, shop, simulator, room_type):
    assert sellable(client, 2, NIGHT) == ROOMS
    # Given the PMS closes one night of the room type
    close_nights(engine, room_type, NIGHT)
    result = push_availability(engine, client, shop, room_type, NIGHT - timedelta(days=2), NIGHT + timedelta(days=2))
    # Then QloApps sells none of its rooms that night, and the nights around it as before
    assert (result.action, result.held, result.short) == ("created", {NIGHT: ROOMS}, {})
    assert sellable(client, 2, NIGHT) == 0
    assert sellable(client, 2, NIGHT + timedelta(days=1)) == ROOMS
    assert sellable(client, 2, NIGHT - timedelta(days=1)) == ROOMS
    # And pushing again changes nothing
    again = push_availability(engine, client, shop, room_type, NIGHT - timedelta(days=2), NIGHT + timedelta(days=2))
    assert again.action == "unchanged"
    # When the night is reopened
    desk_for(engine).open_night(room_type, NIGHT)
    released = push_availability(engine, client, shop, room_type, NIGHT, NIGHT)
    assert released.action == "released" and sellable(client, 2, NIGHT) == ROOMS


def test_a_room_out_of_order_lowers_the_count_and_guests_keep_their_rooms(engine, client, shop, simulator, room_type):
    # Given two guests booked the night, and one room is out of order for three nights
    for _ in range(2):
        push_reservation_for(engine, client, shop, room_type)
    desk = desk_for(engine)
    desk.room_out_of_order(_pms_room(engine, room_type), NIGHT, NIGHT + timedelta(days=3))
    result = push_availability(engine, client, shop, room_type, NIGHT, NIGHT + timedelta(days=3))
    # Then one room less is sold on those nights, the guests' rooms stay theirs, the fourth night is whole
    # (unless the PMS keeps a room out of order for every night: then it is held the fourth night too)
    off = 3 if desk.dated_outages else 4
    assert result.held == {NIGHT + timedelta(days=n): 1 for n in range(off)}
    assert sellable(client, 2, NIGHT) == ROOMS - 2 - 1
    assert sellable(client, 2, NIGHT + timedelta(days=1)) == ROOMS - 1
    assert sellable(client, 2, NIGHT + timedelta(days=3)) == (ROOMS if desk.dated_outages else ROOMS - 1)


def push_reservation_for(engine: Engine, client, shop, room_type: int) -> int:  # type: ignore[no-untyped-def]
    from qlosync.sync.outbound.push import PushDeps

    reservation = front_desk_reservation(engine, room_type_id=room_type, checkin=NIGHT, checkout=NIGHT + timedelta(days=1))
    return push_reservation(PushDeps(engine=engine, client=client, shop=shop), reservation).qloapps_order_id or 0


def test_a_walk_in_lowers_the_sellable_count_and_its_cancellation_restores_it(
        engine, client, shop, simulator, room_type, push_deps):
    reservation = front_desk_reservation(engine, room_type_id=room_type, checkin=NIGHT, checkout=NIGHT + timedelta(days=2))
    push_reservation(push_deps, reservation)
    assert sellable(client, 2, NIGHT, 2) == ROOMS - 1
    desk_for(engine).set_status(reservation, "cancelled")
    push_reservation(push_deps, reservation)
    assert sellable(client, 2, NIGHT, 2) == ROOMS


def test_a_full_night_cannot_be_closed_further_and_says_so_and_the_pull_ignores_the_block(
        engine, client, shop, simulator, room_type, deps):
    # Given four guests on the night, and the PMS closes it and has two rooms out of order
    for _ in range(4):
        push_reservation_for(engine, client, shop, room_type)
    close_nights(engine, room_type, NIGHT)
    result = push_availability(engine, client, shop, room_type, NIGHT, NIGHT)
    assert result.held == {NIGHT: 1} and sellable(client, 2, NIGHT) == 0
    desk = desk_for(engine)
    desk.reopen_every_night()
    desk.rooms_out_of_order_of_type(room_type, 2, NIGHT, NIGHT + timedelta(days=1))
    short = push_availability(engine, client, shop, room_type, NIGHT, NIGHT)
    # Then it holds the one free room and reports the room it could not take
    assert (short.held, short.short) == ({NIGHT: 1}, {NIGHT: 1})
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM qloapps_sync_logs WHERE action = 'stop_sell_short'")).scalar_one() == 1
    with transaction(make_sessionmaker(engine)) as session:
        assert collect_status(session)["shops"][0]["stop_sell"] == [
            {"qloapps_room_type_id": 2, "room_nights_off_sale": 1, "room_nights_guests_keep": 1,
             "first_short_night": NIGHT.isoformat()}]
    reservations_before = desk.reservation_ids()
    # And a full pull does not import the stop-sell booking as a reservation
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded"
    assert desk.reservation_ids() == reservations_before


def test_a_stop_sell_create_whose_answer_was_lost_is_adopted_not_doubled(engine, client, shop, simulator, room_type):
    close_nights(engine, room_type, NIGHT)
    simulator.faults.add("error_after_commit", count=1, method="POST", path="/api/bookings")
    with pytest.raises(Exception, match="outcome unknown"):
        push_availability(engine, client, shop, room_type, NIGHT, NIGHT)
    result = push_availability(engine, client, shop, room_type, NIGHT, NIGHT)
    assert result.action == "unchanged" and result.held == {NIGHT: ROOMS}
    stop_sells = [o for o in simulator.store.table("orders").values() if o["source"].startswith("qlosync stop-sell")]
    assert len(stop_sells) == 1


def test_the_front_desk_can_sell_a_closed_night_the_block_gives_the_room_back(
        engine, client, shop, simulator, room_type, push_deps):
    # Given a night closed on the website: the stop-sell booking holds all five rooms
    close_nights(engine, room_type, NIGHT)
    push_availability(engine, client, shop, room_type, NIGHT, NIGHT)
    assert sellable(client, 2, NIGHT) == 0
    # When the front desk sells a room that night anyway
    reservation = front_desk_reservation(engine, room_type_id=room_type, checkin=NIGHT, checkout=NIGHT + timedelta(days=1))
    result = push_reservation(push_deps, reservation)
    # Then it reached QloApps (the block let one room go) and the night is still not sold on the website
    assert result.action == "created"
    assert sellable(client, 2, NIGHT) == 0
    lines = [r for r in simulator.store.table("room_bookings").values()
             if r["date_from"][:10] == NIGHT.isoformat() and not int(r["is_cancelled"])]
    assert len(lines) == ROOMS


def test_ari_diff_and_push_cover_availability(engine, shop, simulator, room_type, database_url, secret_key, client):
    from click.testing import CliRunner

    from qlosync.cli import cli

    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}
    window = ["--from", NIGHT.isoformat(), "--to", (NIGHT + timedelta(days=1)).isoformat(), "--room-type",
              str(room_type)]
    close_nights(engine, room_type, NIGHT)
    runner = CliRunner()
    before = runner.invoke(cli, ["ari", "diff", *window], env=env)
    assert before.exit_code == 1 and f"{NIGHT}: off sale: 0 rooms in QloApps, the PMS wants {ROOMS}" in before.output
    pushed = runner.invoke(cli, ["ari", "push", *window], env=env)
    assert pushed.exit_code == 0, pushed.output
    assert f"availability created: {ROOMS} room-nights off sale" in pushed.output
    assert sellable(client, 2, NIGHT) == 0
    after = runner.invoke(cli, ["ari", "diff", *window], env=env)
    assert after.exit_code == 0 and "no differences" in after.output


def test_ari_push_from_the_cli_waits_out_the_settle_window_its_read_timeout_gives(
        engine, shop, simulator, room_type, database_url, secret_key):
    from click.testing import CliRunner

    from qlosync.cli import cli
    from qlosync.sync.push_token import new_token

    # Given a stop-sell create sent 100 s ago that left no order (yet), by a client that waits 60 s for answers
    close_nights(engine, room_type, NIGHT)
    with engine.begin() as c:
        c.execute(text("INSERT INTO qloapps_stop_sell_blocks (config_id, qloapps_room_type_id, push_token, "
                       "push_attempted_at) VALUES (:c, 2, :t, now() - interval '100 seconds')"),
                  {"c": shop.id, "t": new_token()})
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal(), "QLOAPPS_HTTP_READ_TIMEOUT_S": "60"}
    window = ["--from", NIGHT.isoformat(), "--to", NIGHT.isoformat(), "--room-type", str(room_type)]
    pushed = CliRunner().invoke(cli, ["ari", "push", *window], env=env)
    # Then `ari push` waits like the workers do (2 x 60 s + 5 s), and sends no second create
    assert pushed.exit_code == 1, pushed.output
    assert "left no order yet; waiting up to 125 s before sending it again" in pushed.output
    assert not [o for o in simulator.store.table("orders").values() if o["source"].startswith("qlosync stop-sell")]
