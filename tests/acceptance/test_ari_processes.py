"""Rates and availability through the real processes: PMS changes made by plain SQL go through the
capture triggers, a `qlosync relay` subprocess, RabbitMQ (a fresh vhost) and a `dramatiq qlosync.actors`
worker subprocess to the QloApps simulator over HTTP, and are read back the way a guest's search sees
them (getRoomRates minus the auto-added services, hotel_ari)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.acceptance.outbound_support import BIN, OUTBOUND_QUEUE, OutboundProcesses, all_changes_published, dead_letters
from tests.pms_desk import desk_for
from tests.integration.ari_support import ROOMS, close_nights, night_rates, sellable, set_rates
from tests.outbound_fixtures import TODAY, front_desk_reservation
from tests.runtime_support import fresh_vhost, queue_counts, wait_until  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

START = TODAY + timedelta(days=40)  # inside the reconciliation's QLOSYNC_ARI_DAYS (365) from today
CATALOG = Decimal("1000")  # QloApps room type 1's own price, charged where no qlosync rule applies
WRITES = ("POST /api/feature_prices", "PUT /api/feature_prices", "DELETE /api/feature_prices", "POST /api/bookings",
          "PUT /api/bookings")


def _night(i: int) -> date:
    return START + timedelta(days=i)


def _charged(client, first: date, last: date) -> dict[date, Decimal]:  # type: ignore[no-untyped-def]
    """What QloApps room type 1 charges per night first..last, without tax and the auto-added services."""
    return night_rates(client, 1, first, (last - first).days + 1)


def _rules(simulator) -> dict[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    with simulator.store.lock:
        return {i: dict(r) for i, r in simulator.store.table("feature_prices").items()}


def _writes(simulator) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many writes of rules and bookings the simulator has received, per kind."""
    return {key: simulator.request_counts[key] for key in WRITES}


def _room_type_logs(engine: Engine, after: int = 0) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(text(
            "SELECT id, level, entity_id, action, details FROM qloapps_sync_logs WHERE entity_type = 'room_type' "
            "AND id > :after ORDER BY id"), {"after": after}))


def _actions(engine: Engine) -> list[str]:
    """The room-type actions the sync log recorded so far, sorted (rates_pushed, stop_sell_created, ...)."""
    return sorted(r.action for r in _room_type_logs(engine))


def _last_log_id(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT coalesce(max(id), 0) FROM qloapps_sync_logs")).scalar_one()


def _drained(procs: OutboundProcesses) -> bool:
    """Every PMS change published by the relay and taken off the queue."""
    return (all_changes_published(procs.engine)
            and queue_counts(procs.env["RABBITMQ_URL"], OUTBOUND_QUEUE)[0] == 0)  # type: ignore[index]


def _qlosync(procs: OutboundProcesses, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "qlosync"), *args], env=procs.env, capture_output=True, text=True, timeout=60)


def _assert_clean(procs: OutboundProcesses) -> None:
    assert dead_letters(procs.engine) == []
    assert all_changes_published(procs.engine)
    assert [r for r in _room_type_logs(procs.engine) if r.level == "error"] == []


def test_three_changed_nights_and_a_closed_night_reach_qloapps_exactly_and_the_same_calendar_writes_nothing(
        processes, room_types, engine, client, simulator):  # noqa: F811
    procs = processes()
    standard, _deluxe = room_types
    first, last = _night(-3), _night(12)  # what is read back: three nights either side of the PMS calendar
    window = [_night(i) for i in range(-3, 13)]
    # Given ten nights at 900 in the PMS, charged by QloApps
    set_rates(engine, standard, START, ["900"] * 10)
    wait_until(lambda: [_charged(client, START, _night(9))[n] for n in window[3:13]] == [Decimal("900")] * 10,
               timeout=20, interval=0.1, what="the ten nights at 900 in QloApps")

    # When the PMS changes three nights and closes another night, by plain SQL
    set_rates(engine, standard, _night(4), ["750"] * 3)
    closed = _night(8)
    close_nights(engine, standard, closed)

    # Then QloApps charges exactly the PMS rates on those nights and its own price around them
    expected = {n: CATALOG for n in window} | {_night(i): Decimal("900") for i in range(10)} | {
        _night(i): Decimal("750") for i in (4, 5, 6)}
    wait_until(lambda: _charged(client, first, last) == expected, timeout=20, interval=0.1,
               what="the three changed nights in QloApps")
    # And sells no room of the type on the closed night only, and every room of the other room type
    wait_until(lambda: sellable(client, 1, closed) == 0, timeout=20, interval=0.1, what="the closed night off sale")
    assert {n: sellable(client, 1, n) for n in window} == {n: 0 if n == closed else ROOMS for n in window}
    assert sellable(client, 2, first, len(window)) == ROOMS
    # With three rules (900, 750, 900), all qlosync's, all on room type 1
    rules = _rules(simulator)
    assert sorted((r["date_from"][:10], r["date_to"][:10], Decimal(str(r["impact_value"])))
                  for r in rules.values()) == [
        (START.isoformat(), _night(3).isoformat(), Decimal("900")),
        (_night(4).isoformat(), _night(6).isoformat(), Decimal("750")),
        (_night(7).isoformat(), _night(9).isoformat(), Decimal("900"))]
    assert {int(r["id_product"]) for r in rules.values()} == {1}
    wait_until(lambda: _actions(engine) == ["rates_pushed", "rates_pushed", "stop_sell_created"], timeout=20,
               interval=0.1, what="the worker to record its three pushes")
    wait_until(lambda: _drained(procs), timeout=20, interval=0.1, what="the relay and the queue to be done")

    # When the PMS writes the same calendar again (the same prices, the closed night touched) at the front desk
    marker, writes = _last_log_id(engine), _writes(simulator)
    desk_for(engine).touch_ari(standard)
    # Then the worker pushes the rates and finds nothing to change: no rule created, updated or deleted
    pushed = wait_until(lambda: [r for r in _room_type_logs(engine, marker) if r.action == "rates_pushed"],
                        timeout=20, interval=0.1, what="the same rates pushed again")
    assert [(r.details["created"], r.details["updated"], r.details["deleted"], r.details["kept"]) for r in pushed] == [
        (0, 0, 0, 3)]
    unchanged = f"Availability of QloApps room type 1, {closed}..{closed}: unchanged, 5 room-nights held"
    wait_until(lambda: unchanged in procs.log("worker-1.log"), timeout=20, interval=0.1,
               what="the same closed night pushed again")
    wait_until(lambda: _drained(procs), timeout=20, interval=0.1, what="the relay and the queue to be done")
    assert _writes(simulator) == writes and _rules(simulator) == rules
    # And so does the command line over the whole range, and diff finds nothing
    again = _qlosync(procs, "ari", "push", "--from", first.isoformat(), "--to", last.isoformat())
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 created, 0 updated, 0 deleted, 3 kept" in again.stdout, again.stdout
    assert "availability unchanged: 5 room-nights off sale" in again.stdout, again.stdout
    assert _writes(simulator) == writes and _rules(simulator) == rules
    diff = _qlosync(procs, "ari", "diff", "--from", first.isoformat(), "--to", last.isoformat())
    assert diff.returncode == 0 and "no differences" in diff.stdout, diff.stdout + diff.stderr
    assert _charged(client, first, last) == expected
    _assert_clean(procs)


def test_a_walk_in_takes_a_room_off_sale_for_its_nights_and_its_cancellation_puts_it_back(
        processes, room_types, engine, client, simulator):  # noqa: F811
    procs = processes()
    standard, _deluxe = room_types
    nights = [_night(i) for i in range(-1, 4)]  # the night before, its three nights, the night after
    assert {n: sellable(client, 1, n) for n in nights} == {n: ROOMS for n in nights}
    # When a walk-in is entered in the PMS by plain SQL for three nights
    walk_in = front_desk_reservation(engine, room_type_id=standard, checkin=START, checkout=_night(3))
    # Then QloApps sells one room less on those nights only
    wait_until(lambda: sellable(client, 1, START, 3) == ROOMS - 1, timeout=20, interval=0.1,
               what="the walk-in's room off sale")
    assert {n: sellable(client, 1, n) for n in nights} == {
        n: ROOMS - 1 if START <= n < _night(3) else ROOMS for n in nights}
    # When the walk-in is cancelled in the PMS
    desk_for(engine).set_status(walk_in, "cancelled")
    # Then the room is on sale again
    wait_until(lambda: sellable(client, 1, START, 3) == ROOMS, timeout=20, interval=0.1,
               what="the walk-in's room back on sale")
    assert {n: sellable(client, 1, n) for n in nights} == {n: ROOMS for n in nights}
    wait_until(lambda: _drained(procs), timeout=20, interval=0.1, what="the relay and the queue to be done")
    _assert_clean(procs)


def test_a_rule_changed_by_hand_in_qloapps_is_found_by_diff_and_put_back_by_the_reconciliation(
        processes, room_types, engine, client, simulator):  # noqa: F811
    procs = processes()
    standard, _deluxe = room_types
    set_rates(engine, standard, START, ["900"] * 10)
    wait_until(lambda: [_charged(client, START, _night(9))[_night(i)] for i in range(10)] == [Decimal("900")] * 10,
               timeout=20, interval=0.1, what="the ten nights at 900 in QloApps")
    # (the push has checked its work: a hand edit made during that check would be put back by the push itself)
    wait_until(lambda: _actions(engine) == ["rates_pushed"], timeout=20, interval=0.1, what="the push recorded")
    wait_until(lambda: _drained(procs), timeout=20, interval=0.1, what="the relay and the queue to be done")
    (rule_id,) = _rules(simulator)
    # When someone sets qlosync's rule to 1.00 by hand in QloApps
    with simulator.store.lock:
        simulator.store.table("feature_prices")[rule_id]["impact_value"] = "1.000000"
    assert _charged(client, START, START)[START] == Decimal("1")
    # Then `qlosync ari diff` lists each of its nights with both prices, and exits 1
    window = ("--from", _night(-1).isoformat(), "--to", _night(10).isoformat())
    diff = _qlosync(procs, "ari", "diff", *window)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    listed = diff.stdout.splitlines()  # nothing else differs: no other night, room type or room off sale
    assert [line.split()[1].rstrip(":") for line in listed] == [_night(i).isoformat() for i in range(10)], diff.stdout
    assert all(line.endswith("rate: PMS 900.00, QloApps 1.00") for line in listed), diff.stdout
    assert "10 differences" in diff.stderr, diff.stderr
    # When the daily reconciliation runs (its actor enqueued as periodiq would, done by the worker)
    writes = _writes(simulator)
    enqueue = subprocess.run(
        [sys.executable, "-c", "from qlosync.actors import reconcile_rates; reconcile_rates.send()"],
        env=procs.env, capture_output=True, text=True, timeout=60)
    assert enqueue.returncode == 0, enqueue.stderr
    # Then the rule is put back (one update, nothing created) and diff is clean
    wait_until(lambda: Decimal(str(_rules(simulator)[rule_id]["impact_value"])) == Decimal("900"), timeout=30,
               interval=0.1, what="the hand-edited rule put back")
    wait_until(lambda: _qlosync(procs, "ari", "diff", *window).returncode == 0, timeout=30, interval=0.5,
               what="`qlosync ari diff` to find no difference")
    assert [_charged(client, START, _night(9))[_night(i)] for i in range(10)] == [Decimal("900")] * 10
    assert list(_rules(simulator)) == [rule_id]
    wait_until(lambda: _drained(procs), timeout=30, interval=0.1, what="the reconciliation's pushes to be done")
    done = _writes(simulator)
    assert {k: done[k] - writes[k] for k in WRITES} == {k: int(k == "PUT /api/feature_prices") for k in WRITES}
    _assert_clean(procs)
