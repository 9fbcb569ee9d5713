"""Cross-site requests: a page on another site may make the operator's browser POST to the API on loopback
(a "simple" request: text/plain, no preflight). Browsers name the page's origin in ``Origin``; a write whose
origin is not the API's own is refused before any route sees it. Clients without a browser (curl, the CLI,
scripts) send no ``Origin`` and are not affected."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from tests.api.conftest import PREFIX
from tests.conftest import TEST_API_KEY

SHOPS = "/api/v1/shops"
CSV = f"name,base_url,api_key\nattacker,http://attacker.test,{TEST_API_KEY}\n".encode()


@pytest.fixture
def open_api(start_api, api_settings):  # type: ignore[no-untyped-def]
    return start_api(api_settings.with_(api_token=None))


def _shops(session_factory) -> list[str]:  # type: ignore[no-untyped-def]
    with transaction(session_factory) as session:
        return list(session.scalars(select(QloAppsConfig.name)))


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_a_cross_site_form_post_of_a_csv_is_refused_and_writes_nothing(open_api, session_factory, origin):
    port = open_api.url.rsplit(":", 1)[1]
    if origin == "http://127.0.0.1:1" and port == "1":
        pytest.fail("the API listens on port 1")
    response = open_api.post(f"{SHOPS}/import", data=CSV, token=None,
                             headers={"Content-Type": "text/plain", "Origin": origin})
    assert response.status_code == 403, response.text
    assert response.json()["detail"].startswith("cross-site request refused"), response.text
    assert _shops(session_factory) == []


def test_a_cross_site_post_is_refused_on_every_write_route(open_api):
    for method, path in (("POST", f"{PREFIX}/sync"), ("PUT", f"{PREFIX}/config"), ("POST", f"{PREFIX}/config/test"),
                         ("POST", SHOPS), ("DELETE", f"{SHOPS}/default")):
        response = open_api.request(method, path, token=None, data=b"{}",
                                    headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
        assert response.status_code == 403, (method, path, response.text)


def test_a_browser_fetch_marked_cross_site_without_origin_is_refused(open_api, session_factory):
    response = open_api.post(f"{SHOPS}/import", data=CSV, token=None,
                             headers={"Content-Type": "text/csv", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403, response.text
    assert _shops(session_factory) == []


def test_the_apis_own_origin_and_clients_without_origin_may_write(open_api, session_factory):
    own = open_api.url  # http://127.0.0.1:PORT
    response = open_api.post(f"{SHOPS}/import", data=CSV, token=None,
                             headers={"Content-Type": "text/csv", "Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200, response.text
    second = CSV.replace(b"attacker", b"second")
    response = open_api.post(f"{SHOPS}/import", data=second, token=None, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert sorted(_shops(session_factory)) == ["attacker", "second"]


def test_reads_are_not_refused_for_their_origin(open_api):
    # A cross-site page cannot read the answer without CORS (which the API never grants); refusing reads
    # would only break a link followed from elsewhere.
    response = open_api.get(f"{PREFIX}/status", token=None, headers={"Origin": "http://evil.example"})
    assert response.status_code == 200, response.text
