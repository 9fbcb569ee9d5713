"""uvicorn's access log, as `qlosync api` writes it, never carries a token or key given in a query string."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import requests

from bench.processes import free_port
from tests.api.conftest import API_TOKEN, PREFIX, await_healthz
from tests.runtime_support import wait_until
from tests.subprocesses import start_process, stop_process

QLOSYNC = str(Path(sys.executable).with_name("qlosync"))
SECRETS = [f"S3CRET{i}-{'x' * 20}" for i in range(6)]
ASKED = [
    f"{PREFIX}/sync-state?token={SECRETS[0]}&limit=5",
    f"/healthz?access_token={SECRETS[1]}",
    f"{PREFIX}/config?shop=default&api_key={SECRETS[2]}&my%20token={SECRETS[3]}",
    f"{PREFIX}/sync-state?TOKEN={SECRETS[4]}&limit=7#frag",
    f"/metrics?ws_key={SECRETS[5]}",
]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_log_redacts_tokens_and_keys_in_query_strings(database_url, rabbitmq_vhost, tmp_path, log_format):
    port = free_port()
    log = tmp_path / "api.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("QLOSYNC_", "QLOAPPS_"))},
           "DATABASE_URL": database_url, "RABBITMQ_URL": rabbitmq_vhost, "QLOSYNC_API_TOKEN": API_TOKEN,
           "QLOSYNC_LOG_FORMAT": log_format}
    process = start_process([QLOSYNC, "api", "--port", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"

    try:
        await_healthz(process, url, log)
        for path in ASKED:
            requests.get(url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)
        wait_until(lambda: "limit=7" in log.read_text() and "/metrics?" in log.read_text(), timeout=30,
                   what="the access log lines")
    finally:
        stop_process(process)
    text = log.read_text()
    lines = [line for line in text.splitlines() if "HTTP/1.1" in line]
    if log_format == "json":
        lines = [json.loads(line)["message"] for line in lines]
    for secret in SECRETS:
        assert secret not in text, text
    # the rest of the query stays, to tell requests apart
    assert any(f'"GET {PREFIX}/sync-state?token=***&limit=5 HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /healthz?access_token=*** HTTP/1.1" 200' in line for line in lines), lines
    assert any(f"GET {PREFIX}/config?shop=default&api_key=***&my%20token=*** HTTP/1.1" in line for line in lines), lines
    assert any(f"GET {PREFIX}/sync-state?TOKEN=***&limit=7 HTTP/1.1" in line for line in lines), lines
    assert any('"GET /metrics?ws_key=*** HTTP/1.1" 200' in line for line in lines), lines
