"""A pushed reservation changed on both sides: the shop's conflict strategy decides, on the push and on the
pull alike; ``manual`` changes neither side until a person resolves the conflict."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import ShopConfig, load_shop
from qlosync.db.session import transaction
from qlosync.sync.conflicts import list_conflicts
from qlosync.runtime.context import Runtime
from qlosync.sync.outbound.jobs import resolve_conflict
from qlosync.sync.outbound.mapper import PushRejected
from qlosync.sync.inbound.pull import PullDeps, run_pull
from qlosync.sync.outbound.push import PushDeps, push_reservation
from tests.integration.sync_helpers import move_booking
from tests.outbound_fixtures import (
    front_desk_reservation,
    pending_reservations,
    pms_room_type,
    pms_state,
    stay,
)
from tests.pms_desk import desk_for

QLOAPPS_SHIFT = 3  # days the website moves the stay


def _day(value: str) -> date:
    return date.fromisoformat(str(value)[:10])


def _sim_lines(simulator, order_id: int) -> list[tuple[int, date, date]]:  # type: ignore[no-untyped-def]
    return sorted((int(r["id_product"]), _day(r["date_from"]), _day(r["date_to"]))
                  for r in simulator.store.table("room_bookings").values() if r["id_order"] == order_id)


def _pms_lines(engine: Engine, shop: ShopConfig, reservation_id: str) -> list[tuple[int, date, date]]:
    """The PMS lines read through the port, their room types translated through the room-type mappings."""
    state = pms_state(engine, shop, reservation_id)
    assert state is not None
    with engine.connect() as c:
        types = {pms: qlo for pms, qlo in c.execute(text(
            "SELECT pms_room_type_id, qloapps_room_type_id FROM qloapps_room_type_mappings WHERE config_id = :c"),
            {"c": shop.id})}
    return sorted((types[line.room_type_id], line.checkin, line.checkout) for line in state.lines)


def _pms_fingerprint(engine: Engine) -> object:
    return desk_for(engine).write_fingerprint()


def _outbox(engine: Engine, reservation_id: str) -> tuple[int, bool]:
    """What the PMS's change capture holds for pushes of reservations: how many captured changes of reservations
    wait, and whether one is of this reservation. (Availability changes a pull's writes may leave, as the
    hotelmanangement PMS's capture does for every stay it writes, queue no push of a reservation.)"""
    pending = pending_reservations(engine)
    return sum(len(change.row_ids) for change in pending.values()), reservation_id in pending


def _conflicts(engine: Engine) -> list:  # type: ignore[type-arg]
    with engine.connect() as c:
        return c.execute(text("SELECT id, status, detected_by, resolution, pms_reservation_id, qloapps_order_id "
                              "FROM qloapps_conflicts ORDER BY id")).all()


def _strategy(engine: Engine, session_factory, secret_key, strategy: str,  # type: ignore[no-untyped-def]
              *deps: PushDeps | PullDeps) -> ShopConfig:
    """Set the shop's conflict strategy by SQL and hand the reloaded shop to the given dependencies."""
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET conflict_strategy = :s"), {"s": strategy})
    with transaction(session_factory) as session:
        shop = load_shop(session, KeyCipher(secret_key))
    assert shop.conflict_strategy == strategy
    for d in deps:
        d.shop = shop
    return shop


def _pushed(simulator, push_deps, engine, shop) -> tuple[str, int, tuple[date, date]]:  # type: ignore[no-untyped-def]
    """A reservation created by SQL and pushed: (reservation id, order id, its stay)."""
    with Session(engine) as session:
        general = pms_room_type(session, shop.id, 1)
    checkin, checkout = stay(30)
    reservation = front_desk_reservation(engine, room_type_id=general, checkin=checkin, checkout=checkout, first="Both",
                                  last="Sides", email="both.sides@example.com")
    result = push_reservation(push_deps, reservation)
    assert result.action == "created"
    return reservation, result.qloapps_order_id, (checkin, checkout)  # type: ignore[return-value]


def _change_both_sides(simulator, client, engine, reservation: str, order_id: int) -> None:  # type: ignore[no-untyped-def]
    """The website moves the stay by QLOAPPS_SHIFT days (PUT, new room line ids, B24); the front desk adds a
    night by plain SQL. QloApps' date_upd has one-second resolution: its clock moves on a second first, so
    the website change is not in the same second as the push's read-back."""
    simulator.store.clock.advance(1)
    move_booking(client, order_id, days=QLOAPPS_SHIFT)
    desk_for(engine).shift_lines(reservation, checkout_days=1)


def _qloapps_version(stay_: tuple[date, date]) -> list[tuple[int, date, date]]:
    shift = timedelta(days=QLOAPPS_SHIFT)
    return [(1, stay_[0] + shift, stay_[1] + shift)]


def _pms_version(stay_: tuple[date, date]) -> list[tuple[int, date, date]]:
    return [(1, stay_[0], stay_[1] + timedelta(days=1))]


# ---------------------------------------------------------------------------------------------- manual


def test_manual_on_push_records_a_conflict_and_changes_neither_side(
    simulator, push_deps, deps, client, engine, session_factory, shop, secret_key
):
    _strategy(engine, session_factory, secret_key, "manual", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    # Given both sides changed the reservation since the push
    _change_both_sides(simulator, client, engine, reservation, order_id)
    pms_before = _pms_fingerprint(engine)

    # When the PMS change is pushed
    result = push_reservation(push_deps, reservation)

    # Then it is a conflict, recorded for a person, and neither side changed
    assert (result.action, result.qloapps_order_id) == ("conflict", order_id)
    conflicts = _conflicts(engine)
    assert [(c.status, c.detected_by, c.pms_reservation_id, c.qloapps_order_id) for c in conflicts] == [
        ("open", "push", reservation, order_id)]
    assert result.note == f"conflict {conflicts[0].id}"
    assert _sim_lines(simulator, order_id) == _qloapps_version(stay_)
    assert _pms_lines(engine, shop, reservation) == _pms_version(stay_)
    assert _pms_fingerprint(engine) == pms_before

    # And while it is open, neither a push nor a pull touches the reservation
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("skipped", 0)
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded" and report.counts["conflict"] == 1
    assert _pms_fingerprint(engine) == pms_before
    assert _sim_lines(simulator, order_id) == _qloapps_version(stay_)
    assert len(_conflicts(engine)) == 1


def test_manual_on_pull_records_a_conflict_and_leaves_the_pms_alone(
    simulator, push_deps, deps, client, engine, session_factory, shop, secret_key
):
    _strategy(engine, session_factory, secret_key, "manual", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    _change_both_sides(simulator, client, engine, reservation, order_id)
    pms_before = _pms_fingerprint(engine)
    outbox_before = _outbox(engine, reservation)

    # When a pull reads the website's change
    report = run_pull(deps, kind="full", trigger="manual")

    # Then the PMS keeps its version, and the conflict is listed
    assert report.status == "succeeded"
    assert report.counts["conflict"] == 1 and report.counts["updated"] == 0
    assert _pms_fingerprint(engine) == pms_before
    assert _pms_lines(engine, shop, reservation) == _pms_version(stay_)
    assert _outbox(engine, reservation) == outbox_before  # nothing queued for a push either
    with transaction(session_factory) as session:
        listed = [(c.pms_reservation_id, c.qloapps_order_id, c.detected_by) for c in list_conflicts(session)]
    assert listed == [(reservation, order_id, "pull")]
    assert _sim_lines(simulator, order_id) == _qloapps_version(stay_)


@pytest.mark.parametrize("detected_by", ["push", "pull"])
@pytest.mark.parametrize("keep", ["pms", "qloapps"])
def test_resolving_a_manual_conflict_writes_the_chosen_side_to_the_other(
    keep, detected_by, simulator, push_deps, deps, client, engine, session_factory, shop, settings, secret_key
):
    _strategy(engine, session_factory, secret_key, "manual", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    _change_both_sides(simulator, client, engine, reservation, order_id)
    if detected_by == "push":
        assert push_reservation(push_deps, reservation).action == "conflict"
    else:
        assert run_pull(deps, kind="full", trigger="manual").counts["conflict"] == 1
    [conflict] = _conflicts(engine)
    outbox_before = _outbox(engine, reservation)

    # When a person keeps one side
    result = resolve_conflict(Runtime(settings, engine, session_factory), conflict.id, keep)

    # Then that side's version is on both sides now
    assert result is not None and result.qloapps_order_id == order_id
    expected = _pms_version(stay_) if keep == "pms" else _qloapps_version(stay_)
    assert result.action == ("updated" if keep == "pms" else "pulled")
    assert _sim_lines(simulator, order_id) == expected
    assert _pms_lines(engine, shop, reservation) == expected
    # And the conflict is closed with that resolution, none is open
    assert [(c.id, c.status, c.resolution) for c in _conflicts(engine)] == [(conflict.id, "resolved", keep)]
    # And QloApps' version came in as an inbound write (no echo)
    assert _outbox(engine, reservation) == outbox_before
    # And both sides agree from now on: a pull changes nothing, a push sends nothing
    pms_before = _pms_fingerprint(engine)
    report = run_pull(deps, kind="full", trigger="manual")
    assert report.status == "succeeded" and report.counts["unchanged"] == 1
    assert _pms_fingerprint(engine) == pms_before
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)
    assert not [c for c in _conflicts(engine) if c.status == "open"]


# --------------------------------------------------------------------------------- pms_wins / qloapps_wins


def test_pms_wins_on_a_pull_keeps_the_pms_and_queues_a_push_that_overwrites_qloapps(
    simulator, push_deps, deps, client, engine, session_factory, shop, secret_key
):
    _strategy(engine, session_factory, secret_key, "pms_wins", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    _change_both_sides(simulator, client, engine, reservation, order_id)
    pms_before = _pms_fingerprint(engine)
    outbox_before = _outbox(engine, reservation)

    # When a pull reads the website's change
    report = run_pull(deps, kind="full", trigger="manual")

    # Then the PMS keeps its version and a push of it is queued; no conflict is recorded
    assert report.counts["kept_pms"] == 1
    assert _pms_fingerprint(engine) == pms_before
    assert _outbox(engine, reservation) == (outbox_before[0] + 1, True)  # a push queued: the PMS version wins
    assert _conflicts(engine) == []
    # And that push writes the PMS version to QloApps
    assert push_reservation(push_deps, reservation).action == "updated"
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == _pms_version(stay_)
    assert run_pull(deps, kind="full", trigger="manual").counts["unchanged"] == 1
    assert _pms_fingerprint(engine) == pms_before


def test_qloapps_wins_on_a_pull_applies_the_website_version_to_the_pms(
    simulator, push_deps, deps, client, engine, session_factory, shop, secret_key
):
    _strategy(engine, session_factory, secret_key, "qloapps_wins", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    _change_both_sides(simulator, client, engine, reservation, order_id)
    outbox_before = _outbox(engine, reservation)

    # When a pull reads the website's change
    report = run_pull(deps, kind="full", trigger="manual")

    # Then QloApps' version replaced the PMS one, without an echo and without a conflict record
    assert report.counts["updated"] == 1
    assert _pms_lines(engine, shop, reservation) == _sim_lines(simulator, order_id) == _qloapps_version(stay_)
    assert _outbox(engine, reservation) == outbox_before
    assert _conflicts(engine) == []
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM qloapps_sync_logs WHERE action = 'conflict_qloapps_wins'")
                         ).scalar_one() == 1
    # And the next push has nothing to send
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)


@pytest.mark.parametrize(("strategy", "action", "winner"), [
    ("pms_wins", "updated", "pms"),
    ("qloapps_wins", "pulled", "qloapps"),
])
def test_a_strategy_with_a_winner_settles_a_conflict_found_by_the_push(
    strategy, action, winner, simulator, push_deps, deps, client, engine, session_factory, shop, secret_key
):
    _strategy(engine, session_factory, secret_key, strategy, push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    _change_both_sides(simulator, client, engine, reservation, order_id)

    # When the PMS change is pushed
    result = push_reservation(push_deps, reservation)

    # Then the winner's version is on both sides, and no conflict waits for a person
    assert result.action == action
    expected = _pms_version(stay_) if winner == "pms" else _qloapps_version(stay_)
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == expected
    assert _conflicts(engine) == []
    again = push_reservation(push_deps, reservation)
    assert (again.action, again.requests) == ("unchanged", 0)


@pytest.mark.parametrize(("qloapps_clock", "winner"),
                         [(timedelta(minutes=-5), "pms"), (timedelta(minutes=5), "qloapps")])
def test_newest_wins_keeps_the_later_change(
    qloapps_clock, winner, simulator, push_deps, deps, client, engine, session_factory, shop, secret_key
):
    _strategy(engine, session_factory, secret_key, "newest_wins", push_deps, deps)
    # Given QloApps' clock runs five minutes behind (its change is older than the PMS one) or ahead (newer)
    simulator.store.clock.freeze(simulator.store.clock.now() + qloapps_clock)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    _change_both_sides(simulator, client, engine, reservation, order_id)

    # When the PMS change is pushed
    push_reservation(push_deps, reservation)

    # Then the later change is on both sides
    expected = _pms_version(stay_) if winner == "pms" else _qloapps_version(stay_)
    assert _sim_lines(simulator, order_id) == _pms_lines(engine, shop, reservation) == expected
    assert _conflicts(engine) == []


def test_a_website_cancellation_against_a_pms_change_kept_for_qloapps_cancels_the_pms_reservation(
    simulator, push_deps, deps, client, engine, session_factory, shop, settings, secret_key
):
    _strategy(engine, session_factory, secret_key, "manual", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    # Given the guest cancelled on the website while the front desk added a night
    simulator.store.clock.advance(1)
    simulator.store.cancel_booking(order_id)
    desk_for(engine).shift_lines(reservation, checkout_days=1)
    assert push_reservation(push_deps, reservation).action == "conflict"
    [conflict] = _conflicts(engine)

    # When a person keeps QloApps' version
    result = resolve_conflict(Runtime(settings, engine, session_factory), conflict.id, "qloapps")

    # Then the PMS reservation is cancelled, and QloApps' order stays cancelled
    assert result is not None and result.action == "pulled"
    state = pms_state(engine, shop, reservation)
    assert state is not None and state.status == "cancelled"
    assert simulator.store.table("orders")[order_id]["current_state"] == 4
    assert [(c.status, c.resolution) for c in _conflicts(engine)] == [("resolved", "qloapps")]


def test_keeping_the_pms_against_a_website_cancellation_is_refused_with_a_reason(
    simulator, push_deps, deps, client, engine, session_factory, shop, settings, secret_key
):
    _strategy(engine, session_factory, secret_key, "manual", push_deps, deps)
    reservation, order_id, stay_ = _pushed(simulator, push_deps, engine, shop)
    simulator.store.clock.advance(1)
    simulator.store.cancel_booking(order_id)
    desk_for(engine).shift_lines(reservation, checkout_days=1)
    assert run_pull(deps, kind="full", trigger="manual").counts["conflict"] == 1
    [conflict] = _conflicts(engine)

    # When a person keeps the PMS version of a booking QloApps has cancelled
    with pytest.raises(PushRejected, match="cannot be reopened"):
        resolve_conflict(Runtime(settings, engine, session_factory), conflict.id, "pms")

    # Then QloApps is untouched (a cancelled booking cannot be reopened), and the refusal is flagged for status
    assert simulator.store.table("orders")[order_id]["current_state"] == 4
    assert _sim_lines(simulator, order_id) == [(1, *stay_)]
    with engine.connect() as c:
        flag = c.execute(text("SELECT push_error FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                         {"r": reservation}).scalar_one()
    assert flag is not None and "make a new reservation" in flag
