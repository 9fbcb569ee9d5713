"""/healthz, /readyz (which service is missing), /metrics, and /status over HTTP."""

from __future__ import annotations

import os

from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import CLOSED_AMQP_URL, PREFIX
from tests.conftest import TEST_API_KEY
from tests.runtime_support import wait_until

CLOSED_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


def test_ready_when_postgresql_and_rabbitmq_answer(api):
    response = api.get("/readyz", token=False)
    assert response.status_code == 200
    assert response.json() == {"ready": True, "postgresql": "ok", "rabbitmq": "ok"}


def test_not_ready_names_rabbitmq(start_api, api_settings):
    api = start_api(api_settings.with_(rabbitmq_url=CLOSED_AMQP_URL))
    response = api.get("/readyz", token=False)
    assert response.status_code == 503
    assert response.json() == {"ready": False, "postgresql": "ok", "rabbitmq": (
        "cannot reach RabbitMQ at 127.0.0.1:1/%2F (ConnectionRefusedError: [Errno 111] Connection refused)")}


def test_not_ready_names_postgresql_and_the_process_stays_up(start_api, api_settings):
    api = start_api(api_settings.with_(database_url=CLOSED_DATABASE_URL))
    response = api.get("/readyz", token=False)
    assert response.status_code == 503
    body = response.json()
    assert (body["ready"], body["rabbitmq"]) == (False, "ok")
    assert body["postgresql"].startswith("cannot reach PostgreSQL at postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert api.get("/healthz", token=False).json() == {"status": "ok"}
    # and operations that need PostgreSQL answer 503, not 500
    for path in ("/status", "/sync-state", "/config", "/mappings"):
        down = api.get(PREFIX + path)
        assert down.status_code == 503, (path, down.text)
        assert down.json() == {"detail": "cannot reach PostgreSQL (or lost the connection)"}
    assert api.get("/metrics").status_code == 503


def test_metrics_are_prometheus_text_read_from_postgresql(api, shop):
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"qlosync_sync_enabled", "qlosync_dead_letters", "qlosync_outbox_unsent"} <= names
    assert 'qlosync_sync_enabled{shop="default"} 1.0' in response.text


def test_status_is_the_cli_report_and_lists_the_api_by_its_heartbeat(api, shop, simulator):
    def api_process_listed() -> list[dict]:
        processes = api.get(f"{PREFIX}/status").json()["processes"]
        return [p for p in processes if p["role"] == "api" and p["pid"] == os.getpid()]

    [me] = wait_until(api_process_listed, what="the API's heartbeat row")
    assert me["state"] == "alive"
    response = api.get(f"{PREFIX}/status")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["schema"]["current"] == report["schema"]["head"] is not None
    [default] = report["shops"]
    assert (default["name"], default["base_url"], default["sync_enabled"]) == ("default", simulator.base_url, True)
    assert report["dead_letters"] == 0 and report["outbox"]["unsent"] == 0
    # No worker runs, and sync is on: the verdict says so, as `qlosync status` would
    assert report["health"]["healthy"] is False
    assert any("no alive worker consumes qloapps.inbound" in p for p in report["health"]["problems"])
    assert TEST_API_KEY not in response.text and TEST_API_KEY[-4:] not in response.text
