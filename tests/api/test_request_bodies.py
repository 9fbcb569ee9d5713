"""Request bodies are bounded (413 above 1 MiB, with or without Content-Length) and a body that cannot be
read as JSON is the documented 422 with ``errors``, whatever is wrong with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import PREFIX

LIMIT = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def _too_large() -> bytes:
    # A JSON array of 2 MiB: valid, so only its size can refuse it
    return b"[" + b"1," * LIMIT + b"1]"


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_body_above_the_limit_is_413_before_it_is_parsed(api):
    response = api.put(f"{PREFIX}/config", data=_too_large(), headers=JSON)
    assert response.status_code == 413, response.text[:200]
    assert response.json() == {"detail": f"the request body is larger than {LIMIT} bytes (1 MiB)"}


def test_a_streamed_body_without_content_length_is_limited_too(api):
    # A generator makes requests send Transfer-Encoding: chunked, so the server cannot know the size up front
    response = api.put(f"{PREFIX}/config", data=_chunks(_too_large()), headers=JSON)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413, response.text[:200]
    assert response.json()["detail"].startswith("the request body is larger than")


def test_a_csv_import_above_the_limit_is_413(api):
    body = b"name,base_url,api_key\n" + b"x" * (LIMIT + 1)
    response = api.post("/api/v1/shops/import", data=_chunks(body), headers={"Content-Type": "text/csv"})
    assert response.status_code == 413, response.text[:200]


def test_a_body_just_under_the_limit_is_read(api):
    padding = "x" * (LIMIT - 100)
    response = api.put(f"{PREFIX}/config", data=f'{{"shop": "main", "pad": "{padding}"}}'.encode(), headers=JSON)
    assert response.status_code == 422, response.text[:200]
    assert response.json()["errors"][0]["loc"] == ["body", "pad"]


@pytest.mark.parametrize("body,what", [
    (b'{"shop": "caf\xe9"}', "invalid UTF-8"),
    (b'{"shop": "\xff\xfe"}', "invalid UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"shop": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001, "nested too deeply"),
])
def test_a_body_that_is_not_json_is_422_with_errors(api, body, what):
    response = api.put(f"{PREFIX}/config", data=body, headers=JSON)
    assert response.status_code == 422, response.text[:300]
    problem = response.json()
    assert problem["detail"].startswith("invalid request: body: ") and what in problem["detail"], problem
    assert problem["errors"] == [{"loc": ["body"], "msg": problem["errors"][0]["msg"], "type": "json_invalid"}]
    assert what in problem["errors"][0]["msg"]


def test_a_csv_that_is_not_utf8_is_422_with_errors(api):
    response = api.post("/api/v1/shops/import", data=b"name,base_url,api_key\ncaf\xe9,http://x.test,\n",
                        headers={"Content-Type": "text/csv"})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": "1 error(s) in the CSV; nothing was imported",
                               "errors": ["line 2: the CSV must be UTF-8 text"]}
