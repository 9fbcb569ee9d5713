"""Create and delete RabbitMQ vhosts for test isolation.

Uses the management HTTP API when it answers (the docker-compose broker has it), else ``rabbitmqctl``
(a broker installed on this machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import quote

import requests

API = os.environ.get("QLOSYNC_TEST_RABBITMQ_API", "http://127.0.0.1:15672/api")
AUTH = ("guest", "guest")


class RabbitAdminError(RuntimeError):
    """The vhost could not be created or deleted."""


def _api_available() -> bool:
    try:
        return requests.get(f"{API}/overview", auth=AUTH, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _ctl(*args: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        raise RabbitAdminError("neither the management API nor rabbitmqctl is available")
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RabbitAdminError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")


def add_vhost(vhost: str) -> None:
    if _api_available():
        name = quote(vhost, safe="")
        response = requests.put(f"{API}/vhosts/{name}", auth=AUTH, timeout=10)
        if response.status_code not in (201, 204):
            raise RabbitAdminError(f"creating vhost: HTTP {response.status_code}")
        response = requests.put(
            f"{API}/permissions/{name}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=AUTH,
            timeout=10,
        )
        if response.status_code not in (201, 204):
            raise RabbitAdminError(f"granting permissions: HTTP {response.status_code}")
        return
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def delete_vhost(vhost: str) -> None:
    if _api_available():
        requests.delete(f"{API}/vhosts/{quote(vhost, safe='')}", auth=AUTH, timeout=10)
        return
    _ctl("delete_vhost", vhost)
