"""Schemathesis against the live API's own OpenAPI document: generated requests, valid and not, never a 500.

The API runs with a configured shop (the simulator, catalog mapped) and its own vhost, so requests reach
PostgreSQL, RabbitMQ and QloApps instead of stopping at "not configured".
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import API_TOKEN
from tests.runtime_support import fresh_vhost  # noqa: F401  (fixture)

ST = str(Path(sys.executable).with_name("st"))
pytestmark = pytest.mark.slow


def test_generated_requests_never_get_a_server_error(fresh_vhost, start_api, api_settings, shop, mapped_catalog,  # noqa: F811
                                                     tmp_path):
    # (fresh_vhost first: the vhost is deleted after the server that is connected to it has stopped)
    api = start_api(api_settings.with_(rabbitmq_url=fresh_vhost, http_connect_timeout_s=1.0, http_read_timeout_s=3.0))
    result = subprocess.run(
        [ST, "run", f"{api.url}/api/v1/openapi.json", "--checks", "not_a_server_error",
         "--header", f"Authorization: Bearer {API_TOKEN}", "--max-examples", "40", "--seed", "20240611",
         "--workers", "1", "--generation-database", "none", "--phases", "examples,coverage,fuzzing",
         "--request-timeout", "30", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    # It did test every operation with many requests (not e.g. only the 401s of a missing header)
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", result.stdout)
    assert operations is not None and operations.groups() == ("21", "21", "21"), report
    cases = re.search(r"Test cases:\s+(\d+) generated, (\d+) passed", result.stdout)
    assert cases is not None and int(cases.group(2)) >= 200 and cases.group(1) == cases.group(2), report
