"""Loading the captured QloApps request/response pairs, replaying one against a simulator and comparing
an answer with it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from tests.contract.shapes import compare_json, compare_xml, content_family

TEST_API_KEY = "QLOSYNCTESTKEY0123456789ABCDEFGH"


def samples_dir() -> Path:
    """The captures folder: $QLOSYNC_SAMPLES_DIR or ../shared/qloapps-samples next to the repository."""
    env = os.environ.get("QLOSYNC_SAMPLES_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "qloapps-samples"


@dataclass
class Capture:
    """One recorded request and the real server's answer."""

    number: str
    name: str
    meta: dict[str, Any]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.meta.get("content_type") or ""


def load_captures(folder: Path) -> list[Capture]:
    """Every NNN-name.meta.json with its body file, sorted by number."""
    out = []
    for meta_path in sorted(folder.glob("[0-9][0-9][0-9]-*.meta.json")):
        stem = meta_path.name[: -len(".meta.json")]
        bodies = [p for p in folder.glob(stem + ".*") if not p.name.endswith(".meta.json")]
        body = bodies[0].read_bytes() if bodies else b""
        out.append(Capture(stem[:3], stem, json.loads(meta_path.read_text()), body))
    return out


def _auth(meta: dict[str, Any]) -> tuple[str, str] | None:
    auth = meta.get("auth", "")
    if auth.startswith("none"):
        return None
    user = auth.split("username=", 1)[1].split(",")[0].split(" ")[0]
    return (TEST_API_KEY if user == "${QLOAPPS_API_KEY}" else user, "")


def query_string(meta: dict[str, Any]) -> str:
    """The query as sent on the wire (query_wire, else the decoded query re-encoded)."""
    wire = meta.get("query_wire")
    if wire is None:
        decoded = (meta.get("query") or "").replace("${QLOAPPS_API_KEY}", TEST_API_KEY)
        wire = quote(decoded, safe="=&[]|,:")
    return wire.replace("${QLOAPPS_API_KEY}", TEST_API_KEY)


def replay(base_url: str, capture: Capture, session: requests.Session | None = None,
           substitutions: dict[str, str] | None = None) -> requests.Response:
    """Send the captured request (method, path, wire query, body, content type, auth).

    `substitutions` replaces server-generated values quoted in the query (e.g. an order reference).
    """
    meta = capture.meta
    query = query_string(meta)
    for old, new in (substitutions or {}).items():
        query = query.replace(old, new)
    url = base_url + meta["path"] + (("?" + query) if query else "")
    headers = {}
    body = meta.get("request_body")
    if body is not None and meta.get("request_content_type"):
        headers["Content-Type"] = meta["request_content_type"]
    req = requests.Request(meta["method"], url, data=body.encode("utf-8") if body is not None else None,
                           headers=headers, auth=_auth(meta))
    prepared = req.prepare()
    prepared.url = url  # keep the capture's own encoding
    return (session or requests.Session()).send(prepared, timeout=30)


def structural_differences(capture: Capture, status: int, content_type: str | None, body: bytes) -> list[str]:
    """Everything that differs between the capture and an answer, structurally."""
    diffs = []
    if status != capture.meta["status"]:
        diffs.append(f"status {status} != captured {capture.meta['status']}")
    ours, theirs = content_family(content_type, body), content_family(capture.content_type, capture.body)
    if ours != theirs:
        diffs.append(f"content family {ours} != captured {theirs}")
        return diffs
    family, is_empty = theirs
    if is_empty:
        return diffs
    if family == "json":
        diffs += compare_json(capture.body.decode("utf-8"), body.decode("utf-8"))
    elif family == "xml":
        diffs += compare_xml(capture.body.decode("utf-8"), body.decode("utf-8"))
    elif body.strip() != capture.body.strip():
        diffs.append(f"body {body[:80]!r} != captured {capture.body[:80]!r}")
    return diffs
