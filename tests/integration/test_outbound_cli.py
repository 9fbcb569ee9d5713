"""`qlosync push`, `qlosync conflicts` and `qlosync status` for the outbound side, through the CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from qlosync.cli import cli
from qlosync.db.session import transaction
from qlosync.sync.outbound.push import push_reservation
from tests.integration.sync_helpers import move_booking
from tests.outbound_fixtures import front_desk_reservation, pms_room_type, stay, unsent_changes
from tests.pms_desk import desk_for


def _env(database_url, secret_key):  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}


def test_a_refused_push_shows_in_status_and_push_failed_sends_it_after_the_fix(
    shop, mapped_catalog, session_factory, engine, database_url, secret_key, simulator
):
    with transaction(session_factory) as session:
        room_type = pms_room_type(session, shop.id, 1)
    checkin, checkout = stay(20)
    # Given a reservation whose guest name QloApps would answer with an empty 500 (B18)
    bad = front_desk_reservation(engine, room_type_id=room_type, checkin=checkin, checkout=checkout, first="J0hn")
    runner = CliRunner()
    env = _env(database_url, secret_key)
    refused = runner.invoke(cli, ["push", str(bad)], env=env)
    assert refused.exit_code == 1
    assert "firstname contains digits" in refused.output
    # Then status lists it with the reason, and the outbox shows its unsent rows (no relay runs here)
    status = runner.invoke(cli, ["status"], env=env)
    assert "pushes refused        1" in status.output
    assert f"reservation {bad}: PushRejected" in status.output and "firstname contains digits" in status.output
    report = json.loads(runner.invoke(cli, ["status", "--json"], env=env).output)
    assert report["outbox"]["unsent"] == unsent_changes(engine) > 0 and report["shops"][0]["refused"][0]["pms_reservation_id"] == bad
    # When the name is fixed and every refused push is retried
    desk_for(engine).update_every_guest(first_name="John")
    fixed = runner.invoke(cli, ["push", "--failed"], env=env)
    # Then it reached QloApps and nothing is flagged any more
    assert fixed.exit_code == 0, fixed.output
    assert f"reservation {bad}: created (QloApps order" in fixed.output
    assert "pushes refused        0" in runner.invoke(cli, ["status"], env=env).output
    assert len(simulator.store.table("orders")) == 1
    assert runner.invoke(cli, ["push"], env=env).exit_code == 2  # nothing named


def test_conflicts_list_and_resolve_through_the_cli(
    shop, mapped_catalog, session_factory, engine, database_url, secret_key, simulator, client, push_deps
):
    with transaction(session_factory) as session:
        room_type = pms_room_type(session, shop.id, 2)
    checkin, checkout = stay(25)
    reservation = front_desk_reservation(engine, room_type_id=room_type, checkin=checkin, checkout=checkout)
    order_id = push_reservation(push_deps, reservation).qloapps_order_id
    # Given a manual shop where both sides then move the stay differently
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET conflict_strategy = 'manual'"))
    desk_for(engine).shift_lines(None, checkout_days=1)
    simulator.store.clock.advance(1)
    move_booking(client, order_id, 3)
    runner = CliRunner()
    env = _env(database_url, secret_key)
    pushed = runner.invoke(cli, ["push", str(reservation)], env=env)
    assert "conflict" in pushed.output, pushed.output
    # When an operator lists and resolves it, keeping the PMS
    listing = runner.invoke(cli, ["conflicts", "list"], env=env)
    assert listing.exit_code == 0 and f"PMS reservation {reservation}  QloApps order {order_id}" in listing.output
    conflict_id = int(listing.output.split()[0].lstrip("#"))
    resolved = runner.invoke(cli, ["conflicts", "resolve", str(conflict_id), "--keep", "pms"], env=env)
    # Then QloApps has the PMS stay, the conflict is closed, and resolving it again is a clear error
    assert resolved.exit_code == 0, resolved.output
    assert f"conflict {conflict_id} resolved, pms kept: updated" in resolved.output
    lines = [r for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id]
    assert [(r["date_from"][:10], r["date_to"][:10]) for r in lines] == [
        (checkin.isoformat(), (checkout.fromordinal(checkout.toordinal() + 1)).isoformat())]
    assert "no open conflicts" in runner.invoke(cli, ["conflicts", "list"], env=env).output
    again = runner.invoke(cli, ["conflicts", "resolve", str(conflict_id), "--keep", "qloapps"], env=env)
    assert again.exit_code == 1 and f"no open conflict {conflict_id}" in again.output


def test_a_change_made_while_sync_is_off_is_flagged_not_lost_and_sent_after_enabling(
    shop, mapped_catalog, session_factory, engine, database_url, secret_key, simulator
):
    with transaction(session_factory) as session:
        room_type = pms_room_type(session, shop.id, 3)
    runner = CliRunner()
    env = _env(database_url, secret_key)
    # Given sync is switched off, and the front desk books meanwhile
    assert runner.invoke(cli, ["config", "set", "--disable"], env=env).exit_code == 0
    checkin, checkout = stay(35)
    reservation = front_desk_reservation(engine, room_type_id=room_type, checkin=checkin, checkout=checkout)
    refused = runner.invoke(cli, ["push", str(reservation)], env=env)
    assert refused.exit_code == 1 and "sync is disabled" in refused.output
    assert f"reservation {reservation}: PushRejected: sync is disabled" in runner.invoke(cli, ["status"], env=env).output
    assert simulator.store.table("orders") == {}
    # When sync is switched on and the refused pushes are retried
    assert runner.invoke(cli, ["config", "set", "--enable"], env=env).exit_code == 0
    sent = runner.invoke(cli, ["push", "--failed"], env=env)
    # Then the booking reached QloApps
    assert sent.exit_code == 0, sent.output
    assert f"reservation {reservation}: created" in sent.output and len(simulator.store.table("orders")) == 1
