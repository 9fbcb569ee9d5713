"""DeadLetterMiddleware: what reaches the DLQ gets a sanitised record; nothing is dropped silently."""

from __future__ import annotations

from dramatiq.message import Message

from qlosync.runtime import dlq
from qlosync.runtime.broker import qlosync_actor
from qlosync.db import dead_letters
from qlosync.db.dead_letters import MAX_ERROR_CHARS, REDACTED, redact, scrub
from qlosync.errors import PermanentError
from tests.conftest import TEST_API_KEY
from tests.runtime_support import in_process_worker, queue_counts, wait_until  # noqa: F401


def _record(session_factory, message_id):
    with session_factory() as session:
        return dead_letters.get(session, message_id)


def test_secret_looking_arguments_and_the_api_key_never_reach_the_record(in_process_worker, session_factory):
    # Given an actor whose error text (wrongly) carries the API key, called with secret-named kwargs
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def leaky(booking_id: int, api_key: str, options: dict) -> None:
        raise PermanentError(f"GET http://shop.test/api/bookings?ws_key={TEST_API_KEY}&display=full said 401 "
                             f"(key {TEST_API_KEY}) " + "x" * 5000)

    w.start()
    message = leaky.send(7, api_key=TEST_API_KEY, options={"auth_token": "t0k", "hotel": 1})
    record = wait_until(lambda: _record(session_factory, message.message_id), what="the record")
    # Then the record has the ids, not the secrets, and a truncated error without the key
    assert record.args == [7]
    assert record.kwargs == {"api_key": REDACTED, "options": {"auth_token": REDACTED, "hotel": 1}}
    assert TEST_API_KEY not in record.error_message
    assert "ws_key=[redacted]&display=full" in record.error_message
    assert len(record.error_message) == MAX_ERROR_CHARS


def test_a_requeued_message_that_dies_again_updates_its_record(in_process_worker, session_factory, rabbitmq_vhost):
    # Given a dead letter that was requeued once, and still fails
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def doomed() -> None:
        raise PermanentError("still broken")

    w.start()
    message = doomed.send()
    first = wait_until(lambda: _record(session_factory, message.message_id), what="the record")
    dlq.requeue(session_factory, rabbitmq_vhost, message.message_id, dlq=w.dlq)
    # When it is dead-lettered again
    again = wait_until(lambda: (r := _record(session_factory, message.message_id)) and r.status == "dead" and r, what="dead again")
    # Then the same row says dead again, keeps its requeue history, and has a later time
    assert again.id == first.id and again.requeue_count == 1 and again.dead_at > first.dead_at
    assert queue_counts(rabbitmq_vhost, w.dlq)[0] == 1


def test_a_skipped_message_is_dead_lettered_not_dropped(in_process_worker, session_factory, rabbitmq_vhost):
    w = in_process_worker()

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def stale() -> None: ...

    w.start()
    # AgeLimit skips a message older than max_age
    message = stale.send_with_options(max_age=1)
    record = wait_until(lambda: _record(session_factory, message.message_id), what="the record")
    assert record.reason == "skipped"
    wait_until(lambda: queue_counts(rabbitmq_vhost, w.dlq)[0] == 1, what="the DLQ copy")


def test_a_message_for_an_unknown_actor_is_dead_lettered(in_process_worker, session_factory):
    w = in_process_worker()
    w.start()
    message = w.broker.enqueue(Message(queue_name=w.queue, actor_name="renamed_actor", args=(1,), kwargs={}, options={}))
    record = wait_until(lambda: _record(session_factory, message.message_id), what="the record")
    # (the consumer takes it off the queue before dramatiq would: not a qlosync message, tests/integration/
    # test_foreign_messages.py)
    assert (record.reason, record.actor_name, record.error_class) == ("not_qlosync", "renamed_actor", None)
    assert "actor 'renamed_actor', which is not one of qlosync's actors" in record.error_message


def test_when_postgres_is_unreachable_the_message_is_still_in_the_dlq_and_listing_records_it(
    in_process_worker, settings, session_factory, rabbitmq_vhost, caplog
):
    # Given a worker whose database is unreachable
    w = in_process_worker(settings_override={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"})

    @qlosync_actor(queue_name=w.queue, broker=w.broker)
    def fails() -> None:
        raise PermanentError("nope")

    w.start()
    message = fails.send()
    # Then the message reaches the DLQ although no record could be written
    wait_until(lambda: queue_counts(rabbitmq_vhost, w.dlq)[0] == 1, what="the DLQ copy")
    wait_until(lambda: "Could not record dead letter" in caplog.text, what="the error log")
    assert _record(session_factory, message.message_id) is None
    # and listing the DLQ (with Postgres back) records it from x-death
    views = dlq.list_dead_letters(session_factory, rabbitmq_vhost, dlq=w.dlq)
    assert [(v.record.message_id, v.record.reason, v.record.queue_name) for v in views] == [
        (message.message_id, "rejected", w.queue)
    ]


def test_redact_and_scrub():
    assert redact({"Password": 1, "items": [{"secret_x": 2, "id": 3}]}) == {
        "Password": REDACTED, "items": [{"secret_x": REDACTED, "id": 3}]}
    assert scrub(f"Authorization: Basic {'QUJD' * 8} {TEST_API_KEY}") == "Authorization: Basic [redacted] [redacted]"
    assert scrub("booking 12 not found") == "booking 12 not found"
    assert scrub(None) is None
