"""/metrics names shops and counts their bookings: it needs the token when one is set, unless
QLOSYNC_API_LOOPBACK_METRICS opens it to scrapers on this machine. No Swagger UI page from a CDN."""

from __future__ import annotations

import socket

import pytest

from qlosync.errors import ConfigurationError
from qlosync.settings import Settings


def _non_loopback_address() -> str:
    """An address of this machine that is not loopback (no packet is sent: UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            pytest.skip("this machine has no route off loopback")
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no address off loopback")
    return address


def test_metrics_need_the_token_when_one_is_set(api, shop):
    refused = api.get("/metrics", token=False)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert "qlosync_" not in refused.text and shop.name not in refused.text
    allowed = api.get("/metrics")
    assert allowed.status_code == 200 and 'qlosync_sync_enabled{shop="default"} 1.0' in allowed.text


def test_loopback_scrapes_can_be_opened_by_a_setting(start_api, api_settings, shop):
    api = start_api(api_settings.with_(api_loopback_metrics=True))
    response = api.get("/metrics", token=False)
    assert response.status_code == 200 and 'qlosync_sync_enabled{shop="default"} 1.0' in response.text
    # the setting opens /metrics only: operations still need the token
    assert api.get("/api/v1/qloapps/status", token=False).status_code == 401


def test_the_open_loopback_scrape_stays_closed_to_other_addresses(start_api, api_settings, shop):
    address = _non_loopback_address()
    api = start_api(api_settings.with_(api_loopback_metrics=True, api_allowed_hosts=(address,)), address)
    assert api.get("/metrics", token=False).status_code == 401
    assert api.get("/metrics").status_code == 200


def test_without_a_token_metrics_are_open_like_everything_on_loopback(start_api, api_settings, shop):
    api = start_api(api_settings.with_(api_token=None))
    assert api.get("/metrics").status_code == 200


def test_no_docs_page_loads_scripts_from_a_cdn(api):
    assert api.get("/api/v1/docs", token=False).status_code == 404
    spec = api.get("/api/v1/openapi.json", token=False)
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "qlosync admin API"


@pytest.mark.parametrize("raw,value", [("", False), ("false", False), ("0", False), ("no", False),
                                       ("true", True), ("1", True), ("Yes", True)])
def test_loopback_metrics_setting(raw, value):
    assert Settings.from_env({"QLOSYNC_API_LOOPBACK_METRICS": raw}).api_loopback_metrics is value


def test_loopback_metrics_setting_refuses_other_words():
    with pytest.raises(ConfigurationError, match="QLOSYNC_API_LOOPBACK_METRICS must be 1 or 0"):
        Settings.from_env({"QLOSYNC_API_LOOPBACK_METRICS": "sometimes"})
