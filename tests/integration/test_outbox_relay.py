"""The built-in PMS's change capture (triggers, its feed through the port) and the relay, against real PostgreSQL
and RabbitMQ."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta

import dramatiq
import pytest
from sqlalchemy import Engine, text

from qlosync.pms import open_pms
from qlosync.pms.builtin.changes import TRIGGERS, installed
from qlosync.pms.port import Backlog, CapturedChange, ReservationChange, RoomTypeChange
from qlosync.runtime.broker import QlosyncRabbitmqBroker, build_broker
from qlosync.sync.outbound.relay import relay_once, run_relay
from qlosync.db.session import transaction
from tests.runtime_support import queue_counts, unique, wait_until

pytestmark = pytest.mark.usefixtures("builtin_pms")  # the built-in's own triggers and outbox rows

CHECKIN, CHECKOUT = date(2031, 5, 1), date(2031, 5, 3)


def _room_type(engine: Engine) -> int:
    with engine.begin() as c:
        return c.execute(text("INSERT INTO pms_room_types (code, name) VALUES ('STD', 'Standard') RETURNING id")).scalar_one()


def _backlog(session_factory) -> Backlog:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return open_pms(session).changes.backlog()


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


def _publisher(broker: QlosyncRabbitmqBroker, queue_name: str, sent: list[ReservationChange]):  # type: ignore[no-untyped-def]
    def publish(request: CapturedChange) -> None:
        assert isinstance(request, ReservationChange)
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


def test_a_rolled_back_change_leaves_no_outbox_row_and_inbound_writes_none(engine, session_factory):
    room_type = _room_type(engine)
    reservation = _reservation(engine, room_type)
    before = _outbox(engine)
    # When a change rolls back
    with pytest.raises(RuntimeError), engine.begin() as c:
        c.execute(text("UPDATE pms_guests SET first_name = 'Bob'"))
        raise RuntimeError("host application failed")
    # And qlosync's inbound apply writes with its writes marked as the sync's (transaction-local)
    with transaction(session_factory) as session:
        open_pms(session).mark_sync_writes()
        session.execute(text("UPDATE pms_reservations SET status = 'confirmed' WHERE id = :r"), {"r": reservation})
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
    sent: list[ReservationChange] = []
    # When the relay runs once
    published = relay_once(session_factory, _publisher(broker, queue_name, sent))
    # Then one confirmed message per reservation is in RabbitMQ and every row is marked sent
    assert published == 2
    assert sorted(r.reservation_id for r in sent) == sorted([str(first), str(second)])
    assert [len(r.row_ids) for r in sent] == [3, 2]  # each one's rows coalesced (reservation, line, update)
    assert (queue_counts(amqp, queue_name) or (0, 0))[0] == 2
    assert all(done for _, _, done in _outbox(engine))
    assert _backlog(session_factory) == Backlog(0, None)
    # And running it again sends nothing
    assert relay_once(session_factory, _publisher(broker, queue_name, sent)) == 0


def test_a_failed_publish_leaves_the_rows_unsent(engine, session_factory):
    room_type = _room_type(engine)
    _reservation(engine, room_type)

    def broken(_request: CapturedChange) -> None:
        raise ConnectionError("RabbitMQ went away")

    with pytest.raises(ConnectionError):
        relay_once(session_factory, broken)
    assert not any(done for _, _, done in _outbox(engine))
    left = _backlog(session_factory)
    assert left.unsent == 2 and left.oldest_unsent_at is not None and left.lag_seconds >= 0


def test_two_relays_never_publish_the_same_rows(engine, session_factory, queue):
    broker, queue_name, _amqp = queue
    room_type = _room_type(engine)
    ids = [_reservation(engine, room_type) for _ in range(3)]
    entered, release = threading.Event(), threading.Event()
    sent_a: list[ReservationChange] = []
    publish_a = _publisher(broker, queue_name, sent_a)

    def slow(request: CapturedChange) -> None:
        entered.set()
        release.wait(10)
        publish_a(request)

    # Given relay A has claimed the rows and is still publishing
    thread = threading.Thread(target=relay_once, args=(session_factory, slow))
    thread.start()
    assert entered.wait(10)
    # When relay B runs meanwhile
    sent_b: list[ReservationChange] = []
    assert relay_once(session_factory, _publisher(broker, queue_name, sent_b)) == 0
    release.set()
    thread.join(10)
    # Then B skipped the locked rows and A published each reservation once
    assert sent_b == []
    assert sorted(r.reservation_id for r in sent_a) == sorted(map(str, ids))


def test_the_relay_wakes_on_commit_and_polls_for_rows_without_a_notification(engine, session_factory, queue):
    broker, queue_name, _amqp = queue
    room_type = _room_type(engine)
    sent: list[ReservationChange] = []
    stop = threading.Event()
    thread = threading.Thread(target=run_relay, args=(engine, session_factory, _publisher(broker, queue_name, sent), stop),
                              kwargs={"poll_interval_s": 30.0})
    thread.start()
    try:
        wait_until(lambda: _listening(engine), timeout=10, what="the relay to LISTEN")
        # When a change commits while the relay waits (its poll interval is 30 s)
        started = time.monotonic()
        reservation = _reservation(engine, room_type)
        wait_until(lambda: any(r.reservation_id == str(reservation) for r in sent), timeout=10,
                   what="the NOTIFY wake-up")
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
        messages = open_pms(session).changes.claim(100)
    rates = {m.room_type_id: (m.operation, m.date_from, m.date_to, len(m.row_ids))
             for m in messages if isinstance(m, RoomTypeChange)}
    assert rates == {str(room_type): ("rates", date(2031, 6, 2), date(2031, 6, 11), 3),
                     str(other): ("rates", date(2031, 6, 1), date(2031, 6, 1), 1)}
    assert len(messages) == 2  # rows of both room types, nothing else


def test_a_push_requested_through_the_feed_commits_with_the_caller_and_wakes_the_relay(engine, session_factory):
    room_type = _room_type(engine)
    reservation = _reservation(engine, room_type)
    created = _outbox(engine)
    with pytest.raises(RuntimeError), transaction(session_factory) as session:
        open_pms(session).changes.request_push(str(reservation), "a rolled back request")
        raise RuntimeError("the caller failed")
    assert _outbox(engine) == created
    with transaction(session_factory) as session:
        open_pms(session).changes.request_push(str(reservation), "conflict: the PMS version wins")
    with engine.connect() as c:
        payload = c.execute(text("SELECT payload FROM pms_outbox ORDER BY id DESC LIMIT 1")).scalar_one()
    assert _outbox(engine)[-1] == (reservation, "update", False) and payload == {
        "reason": "conflict: the PMS version wins"}
    with transaction(session_factory) as session, pytest.raises(ValueError):
        open_pms(session).changes.request_push("not-a-key", "x")


def _captured_tables() -> set[tuple[str, str]]:
    return {(t.table, t.name) for t in TRIGGERS}


def test_change_capture_is_removed_and_installed_again_idempotently(engine, session_factory):
    room_type = _room_type(engine)
    with transaction(session_factory) as session:
        assert installed(session) == _captured_tables()  # as the migrations left them
    try:
        # When change capture is removed (twice: nothing left to drop is fine)
        for _ in range(2):
            with transaction(session_factory) as session:
                open_pms(session).remove_change_capture()
        with transaction(session_factory) as session:
            assert installed(session) == set()
        # Then PMS writes of every captured kind add no outbox row
        reservation = _reservation(engine, room_type)
        with engine.begin() as c:
            c.execute(text("UPDATE pms_guests SET last_name = 'Leigh'"))
            c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, '2031-06-10', 9)"),
                      {"t": room_type})
            c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, '2031-05-01')"),
                      {"t": room_type})
        assert _outbox(engine) == []
    finally:
        # And installing it (twice: only what is missing is created) brings every trigger back
        for _ in range(2):
            with transaction(session_factory) as session:
                open_pms(session).install_change_capture()
    with transaction(session_factory) as session:
        assert installed(session) == _captured_tables()
    with engine.begin() as c:
        c.execute(text("UPDATE pms_reservations SET status = 'confirmed' WHERE id = :r"), {"r": reservation})
        c.execute(text("UPDATE pms_room_type_rates SET price = 10"))
    assert [(aggregate, operation) for aggregate, operation, _ in _outbox(engine)] == [
        (reservation, "update"), (room_type, "availability"), (room_type, "rates")]


# --- what the built-in's capture triggers write for rates and availability (moved from test_rates.py and
# test_availability.py, which run for every adapter) ------------------------------------------------------

def test_rate_changes_land_in_the_outbox_as_one_row_per_room_type_and_statement(engine):
    room_type = _room_type(engine)
    with engine.begin() as c:  # three statements in one transaction
        for night in (date(2031, 6, 1), date(2031, 6, 2), date(2031, 6, 3)):
            c.execute(text("INSERT INTO pms_room_type_rates (room_type_id, night, price) VALUES (:t, :n, 900)"),
                      {"t": room_type, "n": night})
    with engine.begin() as c:
        c.execute(text("UPDATE pms_room_type_rates SET price = price + 10"))
        rows = c.execute(text("SELECT aggregate, aggregate_id, operation, payload FROM pms_outbox "
                              "WHERE aggregate = 'room_type' ORDER BY id")).all()
    assert [(r.aggregate, r.aggregate_id, r.operation) for r in rows] == [("room_type", room_type, "rates")] * 4
    assert rows[-1].payload == {"from": "2031-06-01", "to": "2031-06-03"}


def test_a_stay_on_a_closed_night_queues_an_availability_push_even_from_the_pull(engine):
    room_type, night = _room_type(engine), date(2031, 7, 10)
    with engine.begin() as c:
        c.execute(text("INSERT INTO pms_closed_nights (room_type_id, night) VALUES (:t, :n)"), {"t": room_type, "n": night})
    # A reservation on another night queues nothing; one on the closed night does, also when the pull wrote it
    with engine.begin() as c:
        guest = c.execute(text("INSERT INTO pms_guests (first_name, last_name) VALUES ('Walk', 'In') RETURNING id")).scalar_one()
        other = c.execute(text("INSERT INTO pms_reservations (guest_id) VALUES (:g) RETURNING id"), {"g": guest}).scalar_one()
        c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout) "
                       "VALUES (:r, :t, :i, :o)"), {"r": other, "t": room_type, "i": night + timedelta(days=5),
                                                    "o": night + timedelta(days=6)})
    with engine.begin() as c:
        c.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))
        guest = c.execute(text("INSERT INTO pms_guests (first_name, last_name) VALUES ('Web', 'Guest') RETURNING id")).scalar_one()
        reservation = c.execute(text("INSERT INTO pms_reservations (guest_id) VALUES (:g) RETURNING id"), {"g": guest}).scalar_one()
        c.execute(text("INSERT INTO pms_reservation_lines (reservation_id, room_type_id, checkin, checkout) "
                       "VALUES (:r, :t, :i, :o)"), {"r": reservation, "t": room_type, "i": night - timedelta(days=1),
                                                    "o": night + timedelta(days=1)})
    with engine.begin() as c:
        c.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))
        c.execute(text("UPDATE pms_reservations SET status = 'cancelled' WHERE id = :r"), {"r": reservation})
    with engine.connect() as c:
        rows = c.execute(text("SELECT payload FROM pms_outbox WHERE operation = 'availability' ORDER BY id")).scalars().all()
    stay = {"from": (night - timedelta(days=1)).isoformat(), "to": night.isoformat()}
    closed = {"from": night.isoformat(), "to": night.isoformat()}
    assert rows == [closed, stay, stay]  # the closing itself, the new stay, its cancellation
