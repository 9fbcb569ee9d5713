"""Rates and availability through the real relay and worker: PMS changes by plain SQL reach QloApps."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.acceptance.outbound_support import BIN
from tests.acceptance.test_outbound_processes import processes, room_types  # noqa: F401  (fixtures)
from tests.integration.test_availability import ROOMS, sellable
from tests.integration.test_rates import _night_rates, _set_rates
from tests.outbound_fixtures import TODAY, sql_reservation
from tests.runtime_support import fresh_vhost, wait_until  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
START = TODAY + timedelta(days=40)


def _charged(client, first, nights: int) -> list[Decimal]:  # type: ignore[no-untyped-def]
    rates = _night_rates(client, 1, first, nights)
    return [rates[first + timedelta(days=i)] for i in range(nights)]


def test_rates_closed_nights_and_walk_ins_reach_qloapps_and_a_hand_edit_is_put_back(
        processes, room_types, engine, client, simulator, shop):  # noqa: F811
    procs = processes()
    standard, deluxe = room_types
    # Given ten nights at 900 in the PMS, reaching QloApps through the relay and a worker
    _set_rates(engine, standard, START, ["900"] * 10)
    wait_until(lambda: _charged(client, START, 11) == [Decimal("900")] * 10 + [Decimal("1000")], timeout=30,
               interval=0.2, what="the ten rates in QloApps")
    # When three nights change and a night of another room type is closed
    _set_rates(engine, standard, START + timedelta(days=4), ["750"] * 3)
    with engine.begin() as c:
        c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, :n)"),
                  {"t": deluxe, "n": START + timedelta(days=5)})
    # Then QloApps charges exactly those values and sells none of the closed room type that night, nothing else
    expected = [Decimal("900")] * 4 + [Decimal("750")] * 3 + [Decimal("900")] * 3 + [Decimal("1000")]
    wait_until(lambda: _charged(client, START, 11) == expected, timeout=30, interval=0.2, what="the three new rates")
    wait_until(lambda: sellable(client, 2, START + timedelta(days=5)) == 0, timeout=30, interval=0.2,
               what="the closed night off sale")
    assert sellable(client, 2, START + timedelta(days=6)) == ROOMS
    rules = len(simulator.store.table("feature_prices"))
    assert rules == 3

    # When a walk-in books the standard room type for two nights, then cancels
    walk_in = sql_reservation(engine, room_type_id=standard, checkin=START, checkout=START + timedelta(days=2))
    wait_until(lambda: sellable(client, 1, START, 2) == ROOMS - 1, timeout=30, interval=0.2, what="the walk-in's room")
    with engine.begin() as c:
        c.execute(text("UPDATE pms_reservations SET status = 'cancelled' WHERE id = :r"), {"r": walk_in})
    wait_until(lambda: sellable(client, 1, START, 2) == ROOMS, timeout=30, interval=0.2, what="the room back on sale")

    # When someone changes qlosync's rule by hand in QloApps
    ours = max(simulator.store.table("feature_prices"))
    simulator.store.table("feature_prices")[ours]["impact_value"] = "1.000000"
    window = ["--from", START.isoformat(), "--to", (START + timedelta(days=9)).isoformat()]
    diff = subprocess.run([str(BIN / "qlosync"), "ari", "diff", *window], env=procs.env, capture_output=True, text=True,
                          timeout=60)
    # Then diff finds it, and the reconciliation's push puts it back without adding a rule
    assert diff.returncode == 1 and "QloApps 1.00" in diff.stdout, diff.stdout + diff.stderr
    pushed = subprocess.run([str(BIN / "qlosync"), "ari", "push", *window], env=procs.env, capture_output=True,
                            text=True, timeout=60)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert _charged(client, START, 11) == expected
    assert len(simulator.store.table("feature_prices")) == rules
    clean = subprocess.run([str(BIN / "qlosync"), "ari", "diff", *window], env=procs.env, capture_output=True, text=True,
                           timeout=60)
    assert clean.returncode == 0, clean.stdout
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM qloapps_dead_letters")).scalar_one() == 0
        assert c.execute(text("SELECT count(*) FROM pms_outbox WHERE published_at IS NULL")).scalar_one() == 0
