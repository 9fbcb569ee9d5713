"""HTTP response values and QloApps-style error documents (JSON and XML)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

JSON_CT = "application/json"
XML_CT = "text/xml;charset=utf-8"
HTML_CT = "text/html; charset=utf-8"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<qloapps xmlns:xlink="http://www.w3.org/1999/xlink">\n'
XML_TAIL = "</qloapps>\n"


@dataclass
class Response:
    """A complete HTTP answer; content_type None means no Content-Type header."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A webservice error answered as {"errors":[{"code":..,"message":..}]} (or its XML form)."""

    def __init__(self, status: int, *errors: tuple[int, str]) -> None:
        super().__init__("; ".join(m for _, m in errors))
        self.status = status
        self.errors = list(errors)


class RawAnswer(Exception):
    """Abort processing and send this exact response (empty 404, PHP fatal, ...)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"raw {response.status}")
        self.response = response


def json_response(doc: Any, status: int = 200) -> Response:
    """Serialise like PHP json_encode (compact, slashes escaped)."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
    return Response(status, text.encode("utf-8"), JSON_CT)


def xml_response(inner: str, status: int = 200) -> Response:
    """Wrap an XML fragment in the <qloapps> envelope."""
    return Response(status, (XML_HEAD + inner + XML_TAIL).encode("utf-8"), XML_CT)


def empty(status: int) -> Response:
    """An empty body without Content-Type (404 on a missing id, DELETE success)."""
    return Response(status, b"", None)


def php_fatal(status: int = 500, body: str = "") -> Response:
    """What an uncaught PHP error looks like: text/html, usually an empty body."""
    return Response(status, body.encode("utf-8"), HTML_CT)


def cdata(value: Any) -> str:
    """Render a scalar the way PrestaShop does inside XML (CDATA, empty for null)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        value = int(value)
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{text}]]>"


def error_response(err: ApiError, as_json: bool) -> Response:
    """Render an ApiError in the requested output format."""
    if as_json:
        return json_response({"errors": [{"code": c, "message": m} for c, m in err.errors]}, err.status)
    parts = ["<errors>\n"]
    for code, message in err.errors:
        parts.append(f"<error>\n<code>{cdata(code)}</code>\n<message>{cdata(message)}</message>\n</error>\n")
    parts.append("</errors>\n")
    return xml_response("".join(parts), err.status)


def levenshtein(a: str, b: str) -> int:
    """Edit distance, used for the "Did you mean" hints."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def did_you_mean(word: str, candidates: list[str]) -> str:
    """Closest candidate; on ties the LAST one wins (as observed in 005, 209, 260)."""
    best, best_d = "", None
    for cand in candidates:
        d = levenshtein(word, cand)
        if best_d is None or d <= best_d:
            best, best_d = cand, d
    return best


def number(value: float) -> int | float:
    """JSON number as PHP prints it: integral values without decimals, else 2 decimals."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded == int(rounded) else rounded


def money6(value: float) -> str:
    """Decimal column text ("2080.000000")."""
    return _money6_text(float(value))


@functools.lru_cache(maxsize=65536)
def _money6_text(value: float) -> str:
    # Prices repeat a lot (a few room rates, zeros); one shared string per amount instead of one per row
    # column saves about a tenth of the memory of 1,000 shops' bookings.
    return f"{value:.6f}"
