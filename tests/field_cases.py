"""The bad values of issue 18 (items 3, 7, 8), shared by the CLI, API and CSV tests: each must be refused
by every path in one line that repeats neither the key nor a URL's password, and nothing may be written."""

from __future__ import annotations

from dataclasses import dataclass

PASSWORD = "PASSWORD"  # noqa: S105  (it must never come back in an answer)
GOOD_URL = "http://ok.test"


@dataclass(frozen=True)
class Bad:
    id: str
    field: str  # name, base_url, api_key, id_hotel
    value: str
    says: str  # a fragment of the one-line refusal


BAD_VALUES = [
    Bad("credentials-in-url", "base_url", f"http://u:{PASSWORD}@host.test", "must not contain a user name or password"),
    Bad("space-in-url", "base_url", "http://a b.test", "spaces or control characters"),
    Bad("newline-in-url", "base_url", "http://a.test\nX-Injected: 1", "spaces or control characters"),
    Bad("port-99999", "base_url", "http://x.test:99999", "port that is not a number from 1 to 65535"),
    Bad("100k-url", "base_url", "http://x.test/" + "a" * 100_000, "longer than 512 characters"),
    Bad("metadata-ip", "base_url", "http://169.254.169.254", "link-local or cloud metadata"),
    Bad("link-local-v6", "base_url", "http://[fe80::1]:8080", "link-local or cloud metadata"),
    Bad("metadata-host", "base_url", "http://metadata.google.internal", "link-local or cloud metadata"),
    Bad("accented-name", "name", "h\u00f4tel", "a shop name is 1 to 64 letters"),
    Bad("path-name", "name", "../x", "a shop name is 1 to 64 letters"),
    Bad("300-char-name", "name", "n" * 300, "a shop name is 1 to 64 letters"),
    Bad("key-control-char", "api_key", "A" * 31 + "\x01", "printable ASCII characters only"),
    Bad("key-del-char", "api_key", "\x7f" * 32, "printable ASCII characters only"),
    Bad("huge-hotel-id", "id_hotel", "99999999999999999999", "hotel id must be from 1 to 2147483647"),
    Bad("zero-hotel-id", "id_hotel", "0", "hotel id must be from 1 to 2147483647, got 0"),
    Bad("negative-hotel-id", "id_hotel", "-4", "hotel id must be from 1 to 2147483647, got -4"),
]


def with_bad(bad: Bad, good_key: str) -> dict[str, str]:
    """A shop's fields, all good but the bad one."""
    fields = {"name": "shop1", "base_url": GOOD_URL, "api_key": good_key, "id_hotel": "1"}
    fields[bad.field] = bad.value
    return fields
