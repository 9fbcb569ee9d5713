"""After `qlosync adopt`, the next full pull and relay run create no duplicate on either side (issue 21).

The PMS is the double with qlosync's schema migrated as a deployment beside it (QLOSYNC_PMS=hotelmanangement:
the change capture installed), filled as the TypeScript workers left it (tests/hms/test_adopt.py). The relay's
messages are handed straight to the push jobs a worker would run for them (no broker in between).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.session import transaction
from qlosync.pms import ADAPTERS
from qlosync.pms.port import CapturedChange, ReservationChange, RoomTypeChange
from qlosync.qloapps.client import QloAppsClient
from qlosync.runtime.context import Runtime
from qlosync.secrets import Secret
from qlosync.settings import Settings
from qlosync.states import OutboxOperation, PushAction, RunKind, RunStatus
from qlosync.sync.inbound.pull import PullDeps, run_pull
from qlosync.sync.outbound import jobs
from qlosync.sync.outbound.relay import relay_once
from qlosync.sync.push_token import is_stop_sell
from tests.conftest import TEST_API_KEY
from tests.hms.capture_support import HMS, create_hms_database, drop_database
from tests.hms.adopt_support import TakenOver, workers_world

HMS_ADAPTER = "qlosync.pms.hotelmanangement.adapter:HmsPms"


@pytest.fixture
def adopted(pg_admin: Engine, simulator: Any, secret_key: Secret,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[TakenOver]:
    monkeypatch.setitem(ADAPTERS, HMS, HMS_ADAPTER)  # until qlosync.pms registers it
    name, url = create_hms_database(pg_admin)
    engine = create_engine(url)
    try:
        with workers_world(url, engine, simulator, secret_key, pms_kind=HMS) as world:
            # The workers' rows predate qlosync: its capture was installed after them, so nothing of theirs waits.
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM qlosync.hms_outbox"))
            result = world.run(QLOSYNC_PMS=HMS)
            assert result.exit_code == 0, result.output
            yield world
    finally:
        engine.dispose()
        drop_database(pg_admin, name)


def _live_reservations(world: TakenOver) -> set[str]:
    with world.engine.connect() as connection:
        return set(connection.scalars(text("SELECT id::text FROM public.reservations WHERE deleted_at IS NULL")))


def _guests(world: TakenOver) -> int:
    with world.engine.connect() as connection:
        return int(connection.scalar(text("SELECT count(*) FROM public.guests")) or 0)


def _orders(world: TakenOver) -> set[int]:
    """QloApps' orders, less the stop-sell holds qlosync itself may book to take rooms off sale."""
    with QloAppsClient(world.base_url, Secret(TEST_API_KEY)) as client:
        return {order.id for page in client.iter_all_orders() for order in page if not is_stop_sell(order.source)}


def _relay_and_push(runtime: Runtime) -> list[Any]:
    """One relay run, each message done as the worker that takes it would (the push jobs)."""
    messages: list[CapturedChange] = []
    relay_once(runtime.session_factory, messages.append)
    results: list[Any] = []
    for change in messages:
        if isinstance(change, ReservationChange):
            results.extend(jobs.push(runtime, change.reservation_id, change.mapping_ids))
        elif isinstance(change, RoomTypeChange) and change.operation == OutboxOperation.RATES:
            results.extend(jobs.push_rates_job(runtime, change.room_type_id, change.date_from, change.date_to))
        elif isinstance(change, RoomTypeChange):
            results.extend(jobs.push_availability_job(runtime, change.room_type_id, change.date_from, change.date_to))
    return results


def test_the_next_full_pull_and_relay_run_duplicate_nothing(adopted: TakenOver) -> None:
    w = adopted
    reservations, guests, orders = _live_reservations(w), _guests(w), _orders(w)
    assert orders == set(w.orders.values())
    settings = Settings(database_url=w.url, secret_key=w.secret_key, pms=HMS)
    runtime = Runtime.build(settings)
    try:
        with transaction(runtime.session_factory) as session:
            shop = load_shop(session, KeyCipher(w.secret_key), "seaside-inn")
        with QloAppsClient(shop.base_url, shop.api_key) as client:
            report = run_pull(PullDeps(engine=runtime.engine, session_factory=runtime.session_factory, client=client,
                                       shop=shop, retry_booking=lambda order_id: None), kind=RunKind.FULL)
        assert report.status == RunStatus.SUCCEEDED, report.error
        # Every QloApps order was known: updated in place, none imported again.
        assert report.counts["created"] == 0 and report.counts["updated"] == 3, report.counts
        assert _live_reservations(w) == reservations
        assert _guests(w) == guests
        r = w.reservations
        with w.engine.connect() as connection:
            members = {reservation: group for reservation, group in connection.execute(text(
                "SELECT reservation_id, group_id FROM qlosync.hms_reservation_groups"))}
        # (the pull writes the pushed order's reservation as a group of one: a row of its own now)
        assert members == {r["a"]: r["a"], r["b1"]: r["b1"], r["b2"]: r["b1"], r["c"]: r["c"]}

        # The front desk changes the reservation the workers' push sent and one their pull made: the relay run
        # updates those orders, and creates none.
        with w.engine.begin() as connection:
            connection.execute(text("UPDATE public.reservations SET num_adult = 1, updated_at = now() "
                                    "WHERE id IN (CAST(:c AS uuid), CAST(:a AS uuid))"), {"c": r["c"], "a": r["a"]})
        pushed = [result for result in _relay_and_push(runtime) if hasattr(result, "action")]
        by_reservation = {result.reservation_id: result for result in pushed}
        assert {r["a"], r["c"]} <= set(by_reservation)
        assert PushAction.CREATED not in {result.action for result in pushed}
        assert by_reservation[r["c"]].qloapps_order_id == w.orders["c"]
        assert by_reservation[r["a"]].qloapps_order_id == w.orders["a"]
        assert _orders(w) == orders
        assert _live_reservations(w) == reservations
        # A second relay run has nothing left to send.
        assert _relay_and_push(runtime) == []
    finally:
        runtime.close()
