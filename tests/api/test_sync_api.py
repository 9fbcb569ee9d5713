"""POST /sync enqueues a pull message; /sync-state lists the runs, newest first, findable by message id."""

from __future__ import annotations

from datetime import UTC, datetime

import pika
import pytest
from dramatiq.message import Message
from sqlalchemy import select, update

from qlosync.db.models import QloAppsSyncState
from qlosync.db.session import transaction
from qlosync.runtime.context import Runtime
from qlosync.runtime.queues import INBOUND
from qlosync.sync.inbound import jobs, runs
from tests.api.conftest import CLOSED_AMQP_URL, PREFIX
from tests.runtime_support import fresh_vhost, queue_counts  # noqa: F401  (fixture)


def test_post_sync_enqueues_a_pull_and_answers_202_with_where_to_poll(fresh_vhost, start_api, api_settings, shop):  # noqa: F811
    api = start_api(api_settings.with_(rabbitmq_url=fresh_vhost))
    response = api.post(f"{PREFIX}/sync", json={"full": True})
    assert response.status_code == 202, response.text
    body = response.json()
    message_id = body["message_id"]
    assert body == {"message_id": message_id, "run_id": None, "shop": "default", "kind": "full",
                    "poll": f"{PREFIX}/sync-state?message_id={message_id}"}
    # The message waits in qloapps.inbound for a worker: the pull_bookings actor, a manual full pull
    connection = pika.BlockingConnection(pika.URLParameters(fresh_vhost))
    try:
        method, _properties, raw = connection.channel().basic_get(INBOUND, auto_ack=True)
    finally:
        connection.close()
    assert method is not None
    assert queue_counts(fresh_vhost, INBOUND) == (0, 0)  # exactly one message was sent
    message = Message.decode(raw)
    assert (message.message_id, message.actor_name, message.args) == (message_id, "pull_bookings",
                                                                      ("default", "full", "manual"))
    # Until a worker starts it, polling finds no run
    assert api.get(body["poll"]).json() == {"runs": []}


def test_sync_of_a_disabled_shop_is_409_and_of_an_unknown_shop_404(api, disabled_shop):
    disabled = api.post(f"{PREFIX}/sync", json={"shop": disabled_shop})
    assert disabled.status_code == 409
    assert disabled.json() == {"detail": "sync is disabled for QloApps shop 'off' (`qlosync config set --enable`)"}
    unknown = api.post(f"{PREFIX}/sync", json={"shop": "nowhere"})
    assert unknown.status_code == 404
    assert "QloApps shop 'nowhere' is not configured" in unknown.json()["detail"]


@pytest.mark.parametrize("body,where", [
    ({"full": "yes"}, "body.full"), ({"full": 1}, "body.full"), ({"shop": None}, "body.shop"),
    ({"shop": "two words"}, "body.shop"), ({"shop": "x" * 65}, "body.shop"), ({"kind": "full"}, "body.kind"),
    ("full", "body"),
])
def test_bad_sync_bodies_are_422(api, body, where):
    response = api.post(f"{PREFIX}/sync", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == where.split(".")


def test_sync_with_rabbitmq_unreachable_is_503(start_api, api_settings, shop):
    api = start_api(api_settings.with_(rabbitmq_url=CLOSED_AMQP_URL))
    response = api.post(f"{PREFIX}/sync", json={})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("cannot reach RabbitMQ")
    assert "guest" not in response.text


def _add_run(session_factory, config_id: int, message_id: str | None, status: str = "succeeded") -> int:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        run = runs.start_run(session, config_id, "incremental", "manual", message_id)
        session.execute(update(QloAppsSyncState).where(QloAppsSyncState.id == run.id).values(status=status, seen=3))
        return run.id


def test_sync_state_lists_runs_newest_first_and_filters(api, shop, disabled_shop, session_factory):
    first = _add_run(session_factory, shop.id, "msg-1")
    second = _add_run(session_factory, shop.id, "msg-2", status="failed")
    listing = api.get(f"{PREFIX}/sync-state").json()["runs"]
    assert [run["id"] for run in listing] == [second, first]
    assert listing[0]["message_id"] == "msg-2" and listing[0]["status"] == "failed" and listing[0]["shop"] == "default"
    assert listing[1]["seen"] == 3 and listing[1]["kind"] == "incremental" and listing[1]["trigger"] == "manual"

    by_message = api.get(f"{PREFIX}/sync-state", params={"message_id": "msg-1"}).json()["runs"]
    assert [run["id"] for run in by_message] == [first]
    assert [r["id"] for r in api.get(f"{PREFIX}/sync-state", params={"limit": 1}).json()["runs"]] == [second]
    assert api.get(f"{PREFIX}/sync-state", params={"shop": disabled_shop}).json() == {"runs": []}
    assert api.get(f"{PREFIX}/sync-state", params={"shop": "nowhere"}).status_code == 404

    one = api.get(f"{PREFIX}/sync-state/{first}")
    assert one.status_code == 200 and one.json() == listing[1]
    missing = api.get(f"{PREFIX}/sync-state/{second + 1000}")
    assert missing.status_code == 404 and missing.json() == {"detail": f"no pull run with id {second + 1000}"}


@pytest.mark.parametrize("path,params", [
    ("/sync-state", {"limit": 0}), ("/sync-state", {"limit": 501}), ("/sync-state", {"limit": "ten"}),
    ("/sync-state", {"message_id": "a b"}), ("/sync-state", {"shop": "a/b"}),
    ("/sync-state/0", {}), ("/sync-state/abc", {}), ("/sync-state/99999999999999999999", {}),
])
def test_bad_sync_state_parameters_are_422(api, path, params):
    response = api.get(PREFIX + path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("invalid request: ")


def test_manual_and_scheduled_runs_keep_the_message_id_they_were_given(simulator, settings, shop, mapped_catalog,
                                                                      session_factory):
    # What the pull_bookings actor does with the id of the message it is running
    runtime = Runtime.build(settings)
    try:
        manual = jobs.pull(runtime, "default", kind="incremental", trigger="manual", slot_at=None,
                           retry_booking=print, message_id="manual-message")
        slot = datetime.now(UTC).replace(microsecond=0).isoformat()
        scheduled = jobs.pull(runtime, "default", kind="incremental", trigger="schedule", slot_at=slot,
                              retry_booking=print, message_id="scheduled-message")
    finally:
        runtime.close()
    assert manual is not None and scheduled is not None and scheduled.status == "succeeded"
    with transaction(session_factory) as session:
        stored = dict(session.execute(select(QloAppsSyncState.id, QloAppsSyncState.message_id)).all())
    assert stored == {manual.run_id: "manual-message", scheduled.run_id: "scheduled-message"}
