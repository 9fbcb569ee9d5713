"""Messages on qlosync's queues that qlosync did not send (the Hotel Management System's publisher, on a shared
vhost) go to qloapps.dlq with why and whence, are acked, and the worker goes on with the next real message.

On the real RabbitMQ, each test on a vhost of its own (qlosync's real queue names) or on per-test queue names.
The PMS's messages are JSON of its own: ``{"eventType": ..., "reservationId": ..., "configId": ...,
"messageId": ..., "timestamp": ..., "retryCount": 0}`` published to its topic exchange ``qloapps.events``
(content type application/json, priority 5, header x-retry-count), per its repository.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pika
import pytest
from dramatiq.message import Message
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db import dead_letters
from qlosync.db.session import make_engine, make_sessionmaker
from qlosync.runtime import dlq
from qlosync.runtime.broker import build_broker, qlosync_actor
from qlosync.runtime.foreign import ERROR_HEADER, NOT_QLOSYNC, ORIGIN_EXCHANGE_HEADER, ORIGIN_QUEUE_HEADER, raw_message_id
from qlosync.runtime.queues import DLQ, INBOUND
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests.runtime_support import FAST_RETRIES, InProcessWorker, fresh_vhost, queue_counts, wait_until  # noqa: F401

PMS_EXCHANGE = "qloapps.events"
PMS_ROUTING_KEY = "pms.qloapps.reservation.created"


@pytest.fixture
def broker_settings(database_url: str, secret_key: Secret) -> Settings:
    # Not the `settings` fixture: that one runs every test once per PMS adapter, and the broker knows no PMS.
    return Settings(database_url=database_url, secret_key=secret_key)


@pytest.fixture
def records(broker_settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on this test's database (qloapps_dead_letters)."""
    engine = make_engine(broker_settings)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def make_worker(broker_settings: Settings) -> Iterator[Callable[..., InProcessWorker]]:
    """An in-process worker on *amqp_url*: on qlosync's real queue names, or on per-test ones."""
    made: list[InProcessWorker] = []

    def make(amqp_url: str, *, real_names: bool, **overrides: str) -> InProcessWorker:
        settings = broker_settings.with_(rabbitmq_url=amqp_url, **overrides)
        if real_names:
            broker = build_broker(settings, retry_policy=FAST_RETRIES, work_queues=(INBOUND,))
            made.append(InProcessWorker(broker=broker, queue=INBOUND, dlq=DLQ))
        else:
            made.append(InProcessWorker.build(settings))
        return made[-1]

    yield make
    for worker in made:
        worker.stop()


def _record(records, message_id):
    with records() as session:
        return dead_letters.get(session, message_id)


def _dlq_copies(amqp_url: str, queue: str) -> list[tuple[bytes, dict]]:
    """(body, headers) of every message in *queue*, put back afterwards."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    found = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        found.append((body, properties.headers or {}))
    channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
    connection.close()
    return found


def test_the_pms_messages_on_qloapps_inbound_are_dead_lettered_with_why_and_the_next_real_message_runs(
    make_worker, fresh_vhost, records, caplog
):
    # Given a worker on qloapps.inbound, and the PMS's topic exchange routing its events into that queue
    w = make_worker(fresh_vhost, real_names=True)
    done: list[int] = []

    @qlosync_actor(queue_name=INBOUND, broker=w.broker)
    def real_job(n: int) -> None:
        done.append(n)

    w.start()
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    channel = connection.channel()
    channel.exchange_declare(PMS_EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_bind(INBOUND, PMS_EXCHANGE, routing_key="pms.qloapps.#")
    # When the PMS publishes its JSON events (two shapes), and someone puts a non-JSON body straight on the queue
    event = json.dumps({"event": "reservation.created",
                        "data": {"reservationId": str(uuid.uuid4()), "guestName": "Ada Lovelace"}}).encode()
    pms_message = json.dumps({"eventType": "reservation.create", "reservationId": str(uuid.uuid4()),
                              "configId": str(uuid.uuid4()), "messageId": str(uuid.uuid4()),
                              "timestamp": "2026-12-03T10:00:00.000Z", "retryCount": 0}).encode()
    pms_properties = pika.BasicProperties(content_type="application/json", delivery_mode=2, priority=5,
                                          message_id=str(uuid.uuid4()), headers={"x-retry-count": 0})
    channel.basic_publish(PMS_EXCHANGE, PMS_ROUTING_KEY, event, pms_properties)
    channel.basic_publish(PMS_EXCHANGE, "pms.qloapps.reservation.create", pms_message, pms_properties)
    channel.basic_publish("", INBOUND, b"\x00\x01 not json")
    connection.close()
    # and then a real qlosync message
    real_job.send(7)
    # Then the real one runs
    wait_until(lambda: done == [7], what="the real message to run")
    # and each foreign one has its record, saying what it is and where it came from
    record = wait_until(lambda: _record(records, raw_message_id(event)), what="the event's record")
    assert (record.reason, record.actor_name, record.queue_name, record.status) == (NOT_QLOSYNC, "?", INBOUND, "dead")
    assert record.error_message == (
        "not a qlosync message: a JSON object with keys data, event, not a dramatiq message; it came on "
        "qloapps.inbound from exchange 'qloapps.events' with routing key 'pms.qloapps.reservation.created' and "
        "content type 'application/json'")
    assert "Ada" not in record.error_message  # the keys are named, never the values (a guest's data)
    other = wait_until(lambda: _record(records, raw_message_id(pms_message)), what="the PMS message's record")
    assert "keys configId, eventType, messageId, reservationId, retryCount, timestamp" in other.error_message
    raw = wait_until(lambda: _record(records, raw_message_id(b"\x00\x01 not json")), what="the raw record")
    assert raw.error_message == (
        "not a qlosync message: 11 bytes that are not JSON, not a dramatiq message; it came on qloapps.inbound from "
        "exchange '' (the default exchange) with routing key 'qloapps.inbound' and no content type")
    # and the DLQ holds the three, bodies untouched, with the reason and origin in their headers
    copies = wait_until(lambda: len(c := _dlq_copies(fresh_vhost, DLQ)) == 3 and c, what="three DLQ copies")
    by_body = {body: headers for body, headers in copies}
    assert set(by_body) == {event, pms_message, b"\x00\x01 not json"}
    assert by_body[event][ORIGIN_EXCHANGE_HEADER] == PMS_EXCHANGE
    assert by_body[event][ORIGIN_QUEUE_HEADER] == INBOUND
    assert by_body[event]["x-retry-count"] == 0  # the PMS's own headers are kept
    assert by_body[event][ERROR_HEADER] == record.error_message
    # and nothing was left unacked on qloapps.inbound (stopping the worker would give it back to the queue)
    w.stop()
    assert queue_counts(fresh_vhost, INBOUND) == (0, 0)
    # and the consumer never crashed nor restarted
    assert "Consumer encountered" not in caplog.text and "Failed to decode" not in caplog.text
    # and `qlosync dlq list` shows them as they are, in the queue
    views = dlq.list_dead_letters(records, fresh_vhost)
    assert sorted((v.record.reason, v.record.queue_name, v.in_queue) for v in views) == [(NOT_QLOSYNC, INBOUND, True)] * 3


def test_a_dramatiq_message_for_an_actor_qlosync_does_not_have_is_dead_lettered_and_can_be_requeued(
    make_worker, rabbitmq_vhost, records
):
    # Given a worker (without the actor "renamed_actor")
    w = make_worker(rabbitmq_vhost, real_names=False)
    w.start()
    # When a dramatiq message for that actor arrives
    message = w.broker.enqueue(Message(queue_name=w.queue, actor_name="renamed_actor", args=(1,), kwargs={}, options={}))
    # Then it is dead-lettered as not a qlosync message, keeping its actor and arguments
    record = wait_until(lambda: _record(records, message.message_id), what="the record")
    assert (record.reason, record.actor_name, record.args, record.queue_name) == (NOT_QLOSYNC, "renamed_actor", [1], w.queue)
    assert record.error_message.startswith(
        "not a qlosync message: a dramatiq message for actor 'renamed_actor', which is not one of qlosync's actors; "
        f"it came on {w.queue} from exchange '' (the default exchange)")
    wait_until(lambda: queue_counts(rabbitmq_vhost, w.dlq)[0] == 1, what="the DLQ copy")
    # and once a version that has the actor runs, it can go back to its queue
    done: list[int] = []

    @qlosync_actor(queue_name=w.queue, broker=w.broker, actor_name="renamed_actor")
    def renamed(n: int) -> None:
        done.append(n)

    result = dlq.requeue(records, rabbitmq_vhost, message.message_id, dlq=w.dlq)
    assert result.requeued == [message.message_id]
    wait_until(lambda: done == [1], what="the requeued message to run")


def test_with_postgres_down_a_foreign_message_still_reaches_the_dlq_and_listing_records_why(
    make_worker, rabbitmq_vhost, records, caplog
):
    # Given a worker whose database is unreachable
    w = make_worker(rabbitmq_vhost, real_names=False, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    w.start()
    # When a foreign message arrives on its queue
    body = json.dumps({"event": "rate.update", "data": {"roomTypeId": "rt-1"}}).encode()
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    connection.channel().basic_publish("", w.queue, body, pika.BasicProperties(content_type="application/json"))
    connection.close()
    # Then it is in the DLQ (and no longer on its queue) although no record could be written
    wait_until(lambda: queue_counts(rabbitmq_vhost, w.dlq)[0] == 1, what="the DLQ copy")
    wait_until(lambda: "Could not record dead letter" in caplog.text, what="the error log")
    assert _record(records, raw_message_id(body)) is None
    w.stop()
    assert queue_counts(rabbitmq_vhost, w.queue) == (0, 0)
    # and listing the DLQ (Postgres back) records it with the worker's reason, from the copy's headers
    (view,) = dlq.list_dead_letters(records, rabbitmq_vhost, dlq=w.dlq)
    assert (view.record.message_id, view.record.reason, view.record.queue_name) == (raw_message_id(body), NOT_QLOSYNC, w.queue)
    assert view.record.error_message.startswith("not a qlosync message: a JSON object with keys data, event")
    assert "content type 'application/json'" in view.record.error_message


def test_a_foreign_message_is_tried_again_not_lost_when_the_dlq_refuses_its_copy(
    make_worker, rabbitmq_vhost, records, caplog
):
    # Given a worker that already dead-lettered a foreign message, then lost its DLQ (deleted behind its back)
    w = make_worker(rabbitmq_vhost, real_names=False)
    w.start()
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    channel = connection.channel()
    channel.basic_publish("", w.queue, b"first")
    wait_until(lambda: queue_counts(rabbitmq_vhost, w.dlq)[0] == 1, what="the first DLQ copy")
    channel.queue_delete(w.dlq)
    # When the next foreign message arrives, RabbitMQ cannot route its copy (mandatory, confirmed)
    channel.basic_publish("", w.queue, b"second")
    connection.close()
    # Then it is not acked: the consumer restarts, gets it back, declares the DLQ again and moves it there
    wait_until(lambda: (queue_counts(rabbitmq_vhost, w.dlq) or (0, 0))[0] == 1, timeout=30, what="the second copy")
    assert "Could not move message " + raw_message_id(b"second") in caplog.text
    assert _record(records, raw_message_id(b"second")).reason == NOT_QLOSYNC
    w.stop()
    assert queue_counts(rabbitmq_vhost, w.queue) == (0, 0)
    assert [body for body, _ in _dlq_copies(rabbitmq_vhost, w.dlq)] == [b"second"]


def test_a_json_body_that_is_not_an_object_is_foreign_too(make_worker, rabbitmq_vhost, records):
    w = make_worker(rabbitmq_vhost, real_names=False)
    w.start()
    body = json.dumps(["not", "an", "object"]).encode()
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_vhost))
    connection.channel().basic_publish("", w.queue, body)
    connection.close()
    record = wait_until(lambda: _record(records, raw_message_id(body)), what="the record")
    assert record.error_message.startswith("not a qlosync message: a JSON array, not a dramatiq message")
