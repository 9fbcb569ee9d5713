"""The admin API served for real: uvicorn on a loopback port, in a thread of the test process, against
this test's database and the run's RabbitMQ vhost; requests go over HTTP with ``requests``."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from qlosync.api import create_app
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import save_config
from qlosync.db.session import transaction
from qlosync.secrets import Secret
from qlosync.settings import Settings
from tests.runtime_support import wait_until

API_TOKEN = "test-token-0123456789abcdefghijklmnopqrstuv"
PREFIX = "/api/v1/qloapps"
CLOSED_AMQP_URL = "amqp://guest:guest@127.0.0.1:1/%2F"


@dataclass
class ApiServer:
    """A running API; ``get``/``post``/``put`` send the bearer token unless told otherwise."""

    url: str
    token: str | None
    server: uvicorn.Server
    thread: threading.Thread
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, *, token: str | None | bool = True, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        chosen = self.token if token is True else token
        if chosen:
            headers["Authorization"] = f"Bearer {chosen}"
        return self.session.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.session.close()


def serve(settings: Settings, host: str = "127.0.0.1") -> ApiServer:
    """Start the app on a free port of *host* (the socket is bound before uvicorn starts: no port race)."""
    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"api-{port}")
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=30, what="uvicorn to start")
    assert thread.is_alive(), "uvicorn stopped at startup"
    token = settings.api_token.reveal() if settings.api_token else None
    return ApiServer(url=f"http://{host}:{port}", token=token, server=server, thread=thread)


@pytest.fixture
def api_settings(settings: Settings, rabbitmq_vhost: str) -> Settings:
    return settings.with_(rabbitmq_url=rabbitmq_vhost, api_token=Secret(API_TOKEN), http_read_timeout_s=5.0)


@pytest.fixture
def start_api() -> Iterator[Callable[[Settings], ApiServer]]:
    """Factory: serve the app with these settings; every server is stopped at teardown."""
    started: list[ApiServer] = []

    def start(settings: Settings, host: str = "127.0.0.1") -> ApiServer:
        started.append(serve(settings, host))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def api(start_api, api_settings: Settings) -> ApiServer:  # type: ignore[no-untyped-def]
    return start_api(api_settings)


@pytest.fixture
def disabled_shop(session_factory, secret_key: Secret) -> str:  # type: ignore[no-untyped-def]
    """A shop named "off" whose sync is switched off (its URL is never called)."""
    with transaction(session_factory) as session:
        save_config(session, KeyCipher(secret_key), name="off", base_url="http://127.0.0.1:9",
                    api_key=Secret("OFFSHOPKEY0123456789ABCDEFGHIJKL"), sync_enabled=False)
    return "off"


def await_healthz(process: "subprocess.Popen[bytes]", url: str, log: Path) -> None:
    """Wait until a started `qlosync api` process answers /healthz; fail with its log if it exits first."""

    def up() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return requests.get(url + "/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(up, timeout=30, interval=0.1, what="qlosync api to answer /healthz")
