"""The change-capture triggers and the outbox relay, against real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import dramatiq
import pytest
from sqlalchemy import Engine, text

from qlosync.runtime.broker import QlosyncRabbitmqBroker, build_broker
from qlosync.sync.outbox import PushRequest, RoomTypeRequest, backlog, claim
from qlosync.sync.outbound.relay import relay_once, run_relay
from qlosync.db.session import transaction
from tests.runtime_support import queue_counts, unique, wait_until

CHECKIN, CHECKOUT = date(2031, 5, 1), date(2031, 5, 3)


def _room_type(engine: Engine) -> int:
    with engine.begin() as c:
        return c.execute(text("INSERT INTO pms_room_types (code, name) VALUES ('STD', 'Standard') RETURNING id")).scalar_one()


def _reservation(engine: Engine, room_type: int) -> int:
    """A guest, a reservation and its line, each written by plain SQL with only the essential columns."""
    with engine.begin() as c:
        guest = c.execute(text("INSERT INTO pms_guests (first_name, last_name) VALUES ('Ann', 'Lee') RETURNING id")).scalar_one()
        reservation = c.execute(text("INSERT INTO pms_reservations (guest_id) VALUES (:g) RETURNING id"), {"g": guest}).scalar_one()
        c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout) "
                       "VALUES (:r, :t, :i, :o)"), {"r": reservation, "t": room_type, "i": CHECKIN, "o": CHECKOUT})
    return reservation


def _listening(engine: Engine) -> bool:
    with engine.connect() as c:
        return bool(c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND query LIKE 'LISTEN qlosync_outbox%'")).scalar_one())


def _outbox(engine: Engine) -> list[tuple[int, str, bool]]:
    with engine.connect() as c:
        return [tuple(row) for row in c.execute(text(
            "SELECT aggregate_id, operation, published_at IS NOT NULL FROM pms_outbox ORDER BY id"))]


@pytest.fixture
def queue(settings, rabbitmq_vhost) -> Iterator[tuple[QlosyncRabbitmqBroker, str, str]]:  # type: ignore[no-untyped-def]
    """A real broker on a per-test queue of the run's vhost: (broker, queue name, AMQP URL)."""
    name = unique("t.outbound")
    broker = build_broker(settings.with_(rabbitmq_url=rabbitmq_vhost), work_queues=(name,), dead_letter_queue=unique("t.dlq"))
    broker.declare_topology()
    yield broker, name, rabbitmq_vhost
    broker.close()


def _publisher(broker: QlosyncRabbitmqBroker, queue_name: str, sent: list[PushRequest]):  # type: ignore[no-untyped-def]
    def publish(request: PushRequest) -> None:
        broker.enqueue(dramatiq.Message(queue_name=queue_name, actor_name="push_reservation",
                                        args=(request.reservation_id,), kwargs={}, options={}))
        sent.append(request)

    return publish


def test_plain_sql_changes_land_in_the_outbox_in_their_transaction(engine):
    # Given a reservation written by plain SQL with only the essential columns (the rest are server defaults)
    room_type = _room_type(engine)
    reservation = _reservation(engine, room_type)
    # When its guest, its line and its status change by plain SQL, and an update changes nothing
    with engine.begin() as c:
        c.execute(text("UPDATE pms_guests SET last_name = 'Leigh'"))
        c.execute(text("UPDATE pms_reservation_lines SET checkout = checkout + 1"))
        c.execute(text("UPDATE pms_reservations SET status = status"))
        c.execute(text("UPDATE pms_reservations SET status = 'cancelled'"))
    # Then every change has its row, a no-op update has none, and the cancellation says so
    assert _outbox(engine) == [(reservation, "create", False), (reservation, "update", False),
                               (reservation, "update", False), (reservation, "update", False),
                               (reservation, "cancel", False)]
    with engine.connect() as c:
        defaults = c.execute(text("SELECT status, currency, total_paid FROM pms_reservations")).one()
    assert tuple(defaults) == ("cancelled", "USD", 0)


def test_a_rolled_back_change_leaves_no_outbox_row_and_inbound_writes_none(engine):
    room_type = _room_type(engine)
    reservation = _reservation(engine, room_type)
    before = _outbox(engine)
    # When a change rolls back
    with pytest.raises(RuntimeError), engine.begin() as c:
        c.execute(text("UPDATE pms_guests SET first_name = 'Bob'"))
        raise RuntimeError("host application failed")
    # And qlosync's inbound apply writes under the transaction-local origin marker
    with engine.begin() as c:
        c.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))
        c.execute(text("UPDATE pms_reservations SET status = 'confirmed' WHERE id = :r"), {"r": reservation})
    # Then neither produced an outbox row (no echo), and the marker ended with its transaction
    assert _outbox(engine) == before
    with engine.begin() as c:
        c.execute(text("UPDATE pms_reservations SET status = 'pending' WHERE id = :r"), {"r": reservation})
    assert _outbox(engine)[-1] == (reservation, "update", False)


def test_deleting_a_reservation_keeps_its_mapping_ids_for_the_cancel(engine, session_factory):
    room_type = _room_type(engine)
    reservation = _reservation(engine, room_type)
    with engine.begin() as c:
        c.execute(text("INSERT INTO qloapps_config (name, base_url, api_key_encrypted, sync_enabled, id_hotel, "
                       "conflict_strategy) VALUES ('default', 'http://x', '\\x00', true, 1, 'pms_wins')"))
        mapping = c.execute(text("INSERT INTO qloapps_reservation_mappings (config_id, qloapps_order_id, "
                                 "pms_reservation_id, origin) VALUES (1, 77, :r, 'pms') RETURNING id"),
                            {"r": reservation}).scalar_one()
        c.execute(text("DELETE FROM pms_reservations WHERE id = :r"), {"r": reservation})
    with engine.connect() as c:
        last = c.execute(text("SELECT operation, payload FROM pms_outbox ORDER BY id DESC LIMIT 1")).one()
        lines_rows = c.execute(text("SELECT count(*) FROM pms_outbox WHERE operation = 'update' "
                                    "AND created_at = (SELECT max(created_at) FROM pms_outbox)")).scalar_one()
    assert last.operation == "cancel" and last.payload == {"deleted": True, "mapping_ids": [mapping]}
    # The cascade-deleted line said nothing more (the reservation is gone)
    assert lines_rows == 0


def test_relay_coalesces_one_reservations_changes_into_one_message(engine, session_factory, queue):
    broker, queue_name, amqp = queue
    room_type = _room_type(engine)
    first, second = _reservation(engine, room_type), _reservation(engine, room_type)
    with engine.begin() as c:
        c.execute(text("UPDATE pms_reservations SET status = 'confirmed' WHERE id = :r"), {"r": first})
    sent: list[PushRequest] = []
    # When the relay runs once
    published = relay_once(session_factory, _publisher(broker, queue_name, sent))
    # Then one confirmed message per reservation is in RabbitMQ and every row is marked sent
    assert published == 2
    assert sorted(r.reservation_id for r in sent) == [first, second]
    assert (queue_counts(amqp, queue_name) or (0, 0))[0] == 2
    assert all(done for _, _, done in _outbox(engine))
    with transaction(session_factory) as session:
        assert backlog(session).unsent == 0
    # And running it again sends nothing
    assert relay_once(session_factory, _publisher(broker, queue_name, sent)) == 0


def test_a_failed_publish_leaves_the_rows_unsent(engine, session_factory):
    room_type = _room_type(engine)
    _reservation(engine, room_type)

    def broken(_request: PushRequest) -> None:
        raise ConnectionError("RabbitMQ went away")

    with pytest.raises(ConnectionError):
        relay_once(session_factory, broken)
    assert not any(done for _, _, done in _outbox(engine))
    with transaction(session_factory) as session:
        assert backlog(session).unsent == 2


def test_two_relays_never_publish_the_same_rows(engine, session_factory, queue):
    broker, queue_name, _amqp = queue
    room_type = _room_type(engine)
    ids = [_reservation(engine, room_type) for _ in range(3)]
    entered, release = threading.Event(), threading.Event()
    sent_a: list[PushRequest] = []
    publish_a = _publisher(broker, queue_name, sent_a)

    def slow(request: PushRequest) -> None:
        entered.set()
        release.wait(10)
        publish_a(request)

    # Given relay A has claimed the rows and is still publishing
    thread = threading.Thread(target=relay_once, args=(session_factory, slow))
    thread.start()
    assert entered.wait(10)
    # When relay B runs meanwhile
    sent_b: list[PushRequest] = []
    assert relay_once(session_factory, _publisher(broker, queue_name, sent_b)) == 0
    release.set()
    thread.join(10)
    # Then B skipped the locked rows and A published each reservation once
    assert sent_b == []
    assert sorted(r.reservation_id for r in sent_a) == ids


def test_the_relay_wakes_on_commit_and_polls_for_rows_without_a_notification(engine, session_factory, queue):
    broker, queue_name, _amqp = queue
    room_type = _room_type(engine)
    sent: list[PushRequest] = []
    stop = threading.Event()
    thread = threading.Thread(target=run_relay, args=(engine, session_factory, _publisher(broker, queue_name, sent), stop),
                              kwargs={"poll_interval_s": 30.0})
    thread.start()
    try:
        wait_until(lambda: _listening(engine), timeout=10, what="the relay to LISTEN")
        # When a change commits while the relay waits (its poll interval is 30 s)
        started = time.monotonic()
        reservation = _reservation(engine, room_type)
        wait_until(lambda: any(r.reservation_id == reservation for r in sent), timeout=10, what="the NOTIFY wake-up")
        woke_after = time.monotonic() - started
    finally:
        stop.set()
        thread.join(40)
    # Then it was published at once, not at the next poll
    assert woke_after < 3.0

    # And a row inserted without a notification is found by the poll
    stop2 = threading.Event()
    with engine.begin() as c:
        c.execute(text("INSERT INTO pms_outbox (aggregate, aggregate_id, operation) VALUES ('reservation', :r, 'update')"),
                  {"r": reservation})
    thread = threading.Thread(target=run_relay, args=(engine, session_factory, _publisher(broker, queue_name, sent), stop2),
                              kwargs={"poll_interval_s": 0.2})
    thread.start()
    try:
        wait_until(lambda: all(done for _, _, done in _outbox(engine)), timeout=10, what="the poll to publish the row")
    finally:
        stop2.set()
        thread.join(10)


def test_rate_rows_coalesce_into_one_message_per_room_type_covering_all_their_nights(engine, session_factory):
    room_type = _room_type(engine)
    with engine.begin() as c:
        other = c.execute(text("INSERT INTO pms_room_types (code, name) VALUES ('DLX', 'Deluxe') RETURNING id")).scalar_one()
        c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES "
                       "(:t, '2031-06-10', 900), (:t, '2031-06-11', 900), (:o, '2031-06-01', 1500)"),
                  {"t": room_type, "o": other})
    with engine.begin() as c:
        c.execute(text("UPDATE pms_room_type_rates SET price = 950 WHERE night = '2031-06-11'"))
        c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, '2031-06-02', 990)"),
                  {"t": room_type})
    with transaction(session_factory) as session:
        messages = claim(session, 100)
    rates = sorted((m for m in messages if isinstance(m, RoomTypeRequest)), key=lambda m: m.room_type_id)
    assert [(m.room_type_id, m.date_from, m.date_to, len(m.row_ids)) for m in rates] == [
        (room_type, date(2031, 6, 2), date(2031, 6, 11), 3), (other, date(2031, 6, 1), date(2031, 6, 1), 1)]
    assert len(messages) == 2  # rows of both room types, nothing else
