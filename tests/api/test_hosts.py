"""The Host header: without a token only loopback names are served (a DNS-rebinding page in the operator's
browser names its own domain), with a token also those in QLOSYNC_API_ALLOWED_HOSTS."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from qlosync.errors import ConfigurationError
from qlosync.settings import Settings
from tests.api.conftest import PREFIX
from tests.deploy.entry_points import ROOT

LOOPBACK_NAMES = ["127.0.0.1", "127.0.0.1:{port}", "localhost", "localhost:{port}", "LocalHost.", "[::1]",
                  "[::1]:{port}", "127.8.9.10:{port}"]
FOREIGN_NAMES = ["evil.example", "evil.example:{port}", "localhost.evil.example", "127.0.0.1.evil.example",
                 "evil.example@127.0.0.1", "[::ffff:10.0.0.1]:{port}", "10.0.0.5", "", "local host"]
PATHS = ["/healthz", "/readyz", "/api/v1/openapi.json", f"{PREFIX}/status"]


def _port(api) -> str:  # type: ignore[no-untyped-def]
    return api.url.rsplit(":", 1)[1]


def _get(api, path: str, host: str):  # type: ignore[no-untyped-def]
    return api.get(path, headers={"Host": host.format(port=_port(api))})


@pytest.fixture
def open_api(start_api, api_settings):  # type: ignore[no-untyped-def]
    return start_api(api_settings.with_(api_token=None, api_allowed_hosts=("api.example.com",)))


@pytest.mark.parametrize("host", FOREIGN_NAMES)
def test_without_a_token_other_host_names_are_refused(open_api, host):
    for path in PATHS:
        response = _get(open_api, path, host)
        assert response.status_code == 421, (host, path, response.text)
        assert response.json()["detail"].startswith("this API does not answer to that Host header"), response.text


def test_without_a_token_even_the_configured_names_are_refused(open_api):
    assert _get(open_api, f"{PREFIX}/status", "api.example.com").status_code == 421


@pytest.mark.parametrize("host", LOOPBACK_NAMES)
def test_loopback_names_are_served(open_api, host):
    response = _get(open_api, f"{PREFIX}/status", host)
    assert response.status_code == 200, (host, response.text)


def test_with_a_token_the_configured_names_are_served_too(start_api, api_settings):
    api = start_api(api_settings.with_(api_allowed_hosts=("api.example.com", "10.0.0.5")))
    for host in ("api.example.com", "API.example.com:8443", "10.0.0.5:{port}", "localhost:{port}"):
        assert _get(api, f"{PREFIX}/status", host).status_code == 200, host
        assert _get(api, "/healthz", host).status_code == 200, host
    for host in ("evil.example", "other.example.com", "sub.api.example.com"):
        assert _get(api, "/healthz", host).status_code == 421, host
    # and the token is still needed
    assert api.get(f"{PREFIX}/status", token=False, headers={"Host": "api.example.com"}).status_code == 401


def test_a_star_serves_any_name_with_a_token(start_api, api_settings):
    api = start_api(api_settings.with_(api_allowed_hosts=("*",)))
    assert _get(api, f"{PREFIX}/status", "anything.example").status_code == 200


def test_the_compose_healthcheck_passes(start_api, api_settings):
    # The api container checks itself over loopback with the token set: it must keep answering there
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["api"]["healthcheck"]["test"]
    api = start_api(api_settings)
    assert command[:2] == ["CMD", "python"]
    code = command[-1].replace("127.0.0.1:5000", f"127.0.0.1:{_port(api)}")
    result = subprocess.run([sys.executable, *command[2:-1], code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("raw,hosts", [
    ("", ()), (" API.Example.com , 10.0.0.5,", ("api.example.com", "10.0.0.5")), ("*", ("*",)),
    ("[2001:db8::1]", ("2001:db8::1",)), ("qlosync-api", ("qlosync-api",)),
])
def test_allowed_hosts_setting(raw, hosts):
    assert Settings.from_env({"QLOSYNC_API_ALLOWED_HOSTS": raw}).api_allowed_hosts == hosts


@pytest.mark.parametrize("raw", ["api.example.com:5000", "http://api.example.com", "a b", "*.example.com"])
def test_allowed_hosts_setting_refuses_what_is_not_a_host_name(raw):
    with pytest.raises(ConfigurationError, match="QLOSYNC_API_ALLOWED_HOSTS"):
        Settings.from_env({"QLOSYNC_API_ALLOWED_HOSTS": raw})
