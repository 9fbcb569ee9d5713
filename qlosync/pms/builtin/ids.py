"""The built-in PMS's ids: integer keys, text on the port."""

from __future__ import annotations

from collections.abc import Iterable

from qlosync.fields import INT32_MAX


def as_key(pms_id: str | int | None) -> int | None:
    """The integer key an id names, or None when it cannot name a row (not digits, out of range)."""
    if pms_id is None:
        return None
    text = str(pms_id)
    if not (text.isascii() and text.isdigit()):
        return None
    key = int(text)
    return key if 0 < key <= INT32_MAX else None


def as_keys(pms_ids: Iterable[str | int | None]) -> list[int]:
    """The integer keys of the ids that can name a row (the others match nothing)."""
    return [key for key in map(as_key, pms_ids) if key is not None]


def as_id(key: int | None) -> str | None:
    return None if key is None else str(key)
