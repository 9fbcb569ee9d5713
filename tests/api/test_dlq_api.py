"""Dead letters over HTTP: listed with their reason, requeued to the queue they came from."""

from __future__ import annotations

import pika
import pytest
from dramatiq.message import Message

from qlosync.runtime.queues import DLQ, INBOUND
from qlosync.runtime.topology import setup_topology
from tests.api.conftest import CLOSED_AMQP_URL, PREFIX
from tests.dlq_support import expire_into_dlq
from tests.runtime_support import fresh_vhost, queue_counts, wait_until  # noqa: F401  (fixture)


@pytest.fixture
def dlq_api(fresh_vhost, start_api, api_settings):  # noqa: F811
    """The API on a vhost of its own, with qlosync's queues declared (as `qlosync broker setup` does)."""
    assert {state.status for state in setup_topology(fresh_vhost)} == {"ok"}
    return start_api(api_settings.with_(rabbitmq_url=fresh_vhost))


def test_list_then_requeue_a_dead_letter(dlq_api, fresh_vhost):  # noqa: F811
    # Given a message RabbitMQ dead-lettered from qloapps.inbound
    message = Message(queue_name=INBOUND, actor_name="ping_inbound", args=(7,), kwargs={},
                      options={"retries": 2, "max_retries": 5})
    assert dlq_api.get(f"{PREFIX}/dlq").json() == {"dead_letters": []}
    expire_into_dlq(fresh_vhost, message)
    # When it is listed, it has its actor, origin and reason
    listing = dlq_api.get(f"{PREFIX}/dlq")
    assert listing.status_code == 200, listing.text
    [letter] = listing.json()["dead_letters"]
    assert {k: letter[k] for k in ("message_id", "actor", "origin_queue", "reason", "status", "in_queue", "args")} == {
        "message_id": message.message_id, "actor": "ping_inbound", "origin_queue": INBOUND, "reason": "expired",
        "status": "dead", "in_queue": True, "args": [7]}
    assert queue_counts(fresh_vhost, DLQ)[0] == 1  # listing consumed nothing
    # When it is requeued, it is back on qloapps.inbound and the DLQ is empty
    requeued = dlq_api.post(f"{PREFIX}/dlq/{message.message_id}/requeue")
    assert requeued.status_code == 200, requeued.text
    assert requeued.json() == {"requeued": [message.message_id]}
    assert queue_counts(fresh_vhost, DLQ)[0] == 0
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    try:
        _method, _properties, body = connection.channel().basic_get(INBOUND, auto_ack=True)
    finally:
        connection.close()
    assert Message.decode(body).message_id == message.message_id
    # And its record says so; a second requeue has nothing to send
    assert dlq_api.get(f"{PREFIX}/dlq").json() == {"dead_letters": []}
    [record] = dlq_api.get(f"{PREFIX}/dlq", params={"status": ["requeued", "succeeded"]}).json()["dead_letters"]
    assert (record["status"], record["requeue_count"], record["in_queue"]) == ("requeued", 1, False)
    again = dlq_api.post(f"{PREFIX}/dlq/{message.message_id}/requeue")
    assert again.status_code == 404
    assert "is not in the DLQ (its record says 'requeued'): nothing to requeue" in again.json()["detail"]


def test_a_body_that_is_not_a_dramatiq_message_cannot_be_requeued(dlq_api, fresh_vhost):  # noqa: F811
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    connection.channel().basic_publish(exchange="", routing_key=DLQ, body=b"not json at all")
    connection.close()
    wait_until(lambda: queue_counts(fresh_vhost, DLQ)[0] == 1, what="the raw message in the DLQ")
    [letter] = dlq_api.get(f"{PREFIX}/dlq").json()["dead_letters"]
    assert letter["message_id"].startswith("raw-") and letter["actor"] == "?"
    response = dlq_api.post(f"{PREFIX}/dlq/{letter['message_id']}/requeue")
    assert response.status_code == 409
    assert response.json()["detail"].endswith("not a dramatiq message: purge it instead")
    assert queue_counts(fresh_vhost, DLQ)[0] == 1


def test_requeue_of_an_unknown_id_is_404_and_a_malformed_one_422(dlq_api):
    unknown = dlq_api.post(f"{PREFIX}/dlq/no-such-id/requeue")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "no dead letter with message id 'no-such-id'"}
    assert dlq_api.post(f"{PREFIX}/dlq/{'x' * 65}/requeue").status_code == 422
    assert dlq_api.post(f"{PREFIX}/dlq/a%20b/requeue").status_code == 422
    assert dlq_api.get(f"{PREFIX}/dlq", params={"status": "lost"}).status_code == 422


def test_dlq_with_rabbitmq_unreachable_is_503(start_api, api_settings):
    api = start_api(api_settings.with_(rabbitmq_url=CLOSED_AMQP_URL))
    response = api.get(f"{PREFIX}/dlq")
    assert response.status_code == 503
    assert response.json() == {"detail": "cannot reach RabbitMQ at 127.0.0.1:1/%2F "
                                         "(ConnectionRefusedError: [Errno 111] Connection refused)"}
