"""Bearer-token authentication, and `qlosync api` refusing to listen openly without a token."""

from __future__ import annotations

import hmac
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bench.processes import free_port
from qlosync.api import auth
from tests.api.conftest import API_TOKEN, PREFIX, await_healthz
from tests.subprocesses import start_process, stop_process

QLOSYNC = str(Path(sys.executable).with_name("qlosync"))


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))}, **extra}


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {API_TOKEN}", f"Bearer {API_TOKEN}x",
                                    f"Bearer {API_TOKEN[:-1]}", "Bearer ünïcødé"])
def test_operations_refuse_a_missing_or_wrong_token(api, header):
    headers = {"Authorization": header.encode("utf-8").decode("latin-1")} if header else {}
    response = api.get(f"{PREFIX}/status", token=False, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "missing or wrong bearer token (QLOSYNC_API_TOKEN)"}


def test_every_operation_is_guarded(api):
    spec = api.get("/api/v1/openapi.json", token=False).json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method in operations:
            concrete = path.replace("{run_id}", "1").replace("{message_id}", "m").replace("{qloapps_room_type_id}", "1")
            response = api.request(method.upper(), concrete, token=False, json={})
            assert response.status_code == 401, (method, path, response.text)


def test_the_right_token_is_compared_in_constant_time(api, monkeypatch):
    compared: list[tuple[bytes, bytes]] = []

    def spy(a, b):  # type: ignore[no-untyped-def]
        compared.append((a, b))
        return original(a, b)

    original = hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    response = api.get(f"{PREFIX}/status")
    assert response.status_code == 200, response.text
    assert compared == [(API_TOKEN.encode(), API_TOKEN.encode())]


def test_probes_and_the_openapi_document_need_no_token(api):
    # (/metrics does since it names shops: test_metrics_access.py; the Swagger UI page is gone)
    assert api.get("/healthz", token=False).json() == {"status": "ok"}
    assert api.get("/readyz", token=False).status_code == 200
    spec = api.get("/api/v1/openapi.json", token=False).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "The value of QLOSYNC_API_TOKEN."}


def test_without_a_token_operations_are_open_on_loopback(start_api, api_settings):
    open_api = start_api(api_settings.with_(api_token=None))
    assert open_api.get(f"{PREFIX}/status").status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "api.example.com"])
def test_qlosync_api_refuses_a_non_loopback_address_without_a_token(database_url, host):
    result = subprocess.run([QLOSYNC, "api", "--host", host, "--port", str(free_port())],
                            env=_env(DATABASE_URL=database_url), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: QLOSYNC_API_TOKEN is not set: refusing to serve the admin API on {host}, where other machines "
        "could reach it; set QLOSYNC_API_TOKEN or listen on 127.0.0.1")


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True),
                                           ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                           ("10.0.0.1", False), ("localhost.example.com", False)])
def test_loopback_addresses(host, loopback):
    assert auth.is_loopback(host) is loopback


def test_qlosync_api_serves_with_a_token(database_url, rabbitmq_vhost, tmp_path):
    port = free_port()
    process = start_process([QLOSYNC, "api", "--port", str(port)],
                     _env(DATABASE_URL=database_url, RABBITMQ_URL=rabbitmq_vhost, QLOSYNC_API_TOKEN=API_TOKEN),
                     tmp_path / "api.log")
    url = f"http://127.0.0.1:{port}"

    try:
        await_healthz(process, url, tmp_path / "api.log")
        assert requests.get(url + f"{PREFIX}/status", timeout=10).status_code == 401
        status = requests.get(url + f"{PREFIX}/status", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)
        assert status.status_code == 200, status.text
        assert status.json()["schema"]["current"] == status.json()["schema"]["head"] is not None
    finally:
        stop_process(process)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says what stopped it.
    log = (tmp_path / "api.log").read_text()
    assert process.returncode == -signal.SIGTERM, log
    assert "Uvicorn running on http://127.0.0.1:" in log and "Application shutdown complete." in log
