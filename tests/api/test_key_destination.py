"""The stored API key only ever goes to the stored base URL: a listener on another port, reachable by
anyone who can reach the API or the CLI, must never receive it, whatever it is asked."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from qlosync.cli import cli
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import load_shop
from qlosync.db.session import transaction
from tests.api.conftest import PREFIX
from tests.conftest import TEST_API_KEY

OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
NEEDS_KEY = "needs the API key in the same request"


class Listener:
    """A tiny HTTP server on a loopback port that records the headers of every request it gets."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        seen = self.headers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen.append(dict(self.headers.items()))
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def authorizations(self) -> list[str]:
        return [h.get("Authorization", "") for h in self.headers]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.stop()


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_a_listener_on_another_port_never_receives_the_stored_key(api, shop, simulator, listener, database_url,
                                                                  secret_key, session_factory, tmp_path: Path):
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal(),
           "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    runner = CliRunner()
    csv_file = tmp_path / "shops.csv"
    csv_file.write_text(f"name,base_url,api_key\ndefault,{listener.url},\n")

    # When every surface is asked to test or store the listener's URL without a key
    tested = api.post(f"{PREFIX}/config/test", json={"base_url": listener.url})
    put = api.put(f"{PREFIX}/config", json={"base_url": listener.url})
    patched = api.request("PATCH", "/api/v1/shops/default", json={"base_url": listener.url})
    imported = api.post("/api/v1/shops/import", data=csv_file.read_bytes(), headers={"Content-Type": "text/csv"})
    config_set = runner.invoke(cli, ["config", "set", "--base-url", listener.url], env=env)
    shops_set = runner.invoke(cli, ["shops", "set", "default", "--base-url", listener.url], env=env)
    shops_import = runner.invoke(cli, ["shops", "import", str(csv_file)], env=env)
    # and then the stored settings are used, as a pull would
    after_api = api.post(f"{PREFIX}/config/test", json={})
    after_cli = runner.invoke(cli, ["config", "test"], env=env)

    # Then each refuses in one line, in the API's error shapes
    assert tested.status_code == 400 and NEEDS_KEY in tested.json()["detail"], tested.text
    assert put.status_code == 400 and NEEDS_KEY in put.json()["detail"], put.text
    assert patched.status_code == 422 and NEEDS_KEY in patched.json()["detail"], patched.text
    assert imported.status_code == 422, imported.text
    assert imported.json()["errors"] == [f"line 2: {imported.json()['errors'][0].split(': ', 1)[1]}"]
    assert NEEDS_KEY in imported.json()["errors"][0]
    for result in (config_set, shops_set):
        assert result.exit_code == 1 and NEEDS_KEY in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert shops_import.exit_code == 1 and NEEDS_KEY in shops_import.output, shops_import.output
    # the stored URL is still the shop's, and it still works
    with transaction(session_factory) as session:
        assert load_shop(session, KeyCipher(secret_key)).base_url == simulator.base_url
    assert after_api.json()["ok"] is True and after_cli.exit_code == 0, (after_api.text, after_cli.output)
    # and the listener never got the stored key (nor any request at all)
    assert listener.headers == []
    # A key given with the URL goes there (the listener does record what reaches it)
    given = api.post(f"{PREFIX}/config/test", json={"base_url": listener.url, "api_key": OTHER_KEY})
    assert given.status_code == 200 and given.json()["problem"] == "key_refused", given.text
    assert listener.authorizations() and set(listener.authorizations()) == {_basic(OTHER_KEY)}
    assert _basic(TEST_API_KEY) not in listener.authorizations()


def test_the_same_url_written_differently_is_not_a_change(api, shop, simulator, database_url, secret_key):
    env = {"DATABASE_URL": database_url, "QLOSYNC_SECRET_KEY": secret_key.reveal()}
    same = f"{simulator.base_url}/api/"
    assert api.post(f"{PREFIX}/config/test", json={"base_url": same}).json()["ok"] is True
    assert api.put(f"{PREFIX}/config", json={"base_url": same}).status_code == 200
    assert api.request("PATCH", "/api/v1/shops/default", json={"base_url": same}).status_code == 200
    result = CliRunner().invoke(cli, ["shops", "set", "default", "--base-url", same.rstrip("/")], env=env)
    assert result.exit_code == 0, result.output


def test_a_new_url_with_the_key_in_the_same_request_is_saved(api, shop, listener, session_factory, secret_key):
    response = api.request("PATCH", "/api/v1/shops/default", json={"base_url": listener.url, "api_key": OTHER_KEY})
    assert response.status_code == 200, response.text
    with transaction(session_factory) as session:
        stored = load_shop(session, KeyCipher(secret_key))
    assert (stored.base_url, stored.api_key.reveal()) == (listener.url, OTHER_KEY)
