"""End to end: `qlosync api` and a `dramatiq qlosync.actors` worker as processes, the simulator as QloApps.
POST /sync answers 202 at once; the worker's run carries the message id and is found by polling."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.processes import free_port
from qlosync.runtime.queues import INBOUND
from tests.acceptance.outbound_support import WORKER_CMD, process_env
from tests.api.conftest import API_TOKEN, PREFIX
from tests.runtime_support import fresh_vhost, queue_counts, wait_until  # noqa: F401  (fixture)
from tests.subprocesses import start_process, stop_process

QLOSYNC = str(Path(sys.executable).with_name("qlosync"))
BOOKINGS = 25
pytestmark = pytest.mark.slow


def test_post_sync_then_the_run_is_found_by_its_message_id_and_succeeds(
    fresh_vhost, simulator, shop, mapped_catalog, database_url, secret_key, tmp_path  # noqa: F811
):
    simulator.store.generate_bookings(BOOKINGS, seed=21)
    port = free_port()
    env = process_env(database_url, fresh_vhost, secret_key.reveal(), QLOSYNC_API_TOKEN=API_TOKEN)
    logs = {name: tmp_path / f"{name}.log" for name in ("api", "worker")}
    api = start_process([QLOSYNC, "api", "--port", str(port)], env, logs["api"])
    worker = start_process(WORKER_CMD, env, logs["worker"])
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {API_TOKEN}"}

    def all_logs() -> str:
        return "\n".join(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}" for name, path in logs.items())

    def api_up() -> bool:
        assert api.poll() is None, all_logs()
        try:
            return requests.get(f"{url}/readyz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def worker_consuming() -> bool:
        assert worker.poll() is None, all_logs()
        counts = queue_counts(fresh_vhost, INBOUND)
        return counts is not None and counts[1] > 0

    try:
        wait_until(api_up, timeout=30, interval=0.1, what="the API to be ready")
        wait_until(worker_consuming, timeout=30, interval=0.1, what="a worker consuming qloapps.inbound")
        # When an operator asks for a full sync over HTTP
        accepted = requests.post(f"{url}{PREFIX}/sync", json={"full": True}, headers=headers, timeout=30)
        assert accepted.status_code == 202, accepted.text
        message_id = accepted.json()["message_id"]

        # Then polling the given address finds the run the worker started for that message, until it is done
        def finished_run() -> dict[str, Any] | None:
            runs = requests.get(url + accepted.json()["poll"], headers=headers, timeout=10).json()["runs"]
            return runs[0] if runs and runs[0]["status"] != "running" else None

        run = wait_until(finished_run, timeout=90, interval=0.2, what="the pull started by the message to finish")
    finally:
        stop_process(worker)
        stop_process(api)
    assert (run["status"], run["kind"], run["trigger"], run["message_id"]) == ("succeeded", "full", "manual", message_id), run
    assert (run["seen"], run["created"], run["failed"], run["parked"]) == (BOOKINGS, BOOKINGS, 0, 0), run
    assert run["finished_at"] is not None and run["error"] is None
