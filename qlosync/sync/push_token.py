"""The push token: written before a create is sent and carried in the QloApps order's ``source``.

Order listings show ``source``, so both a retried push (reconcile) and the inbound pull can recognise an
order that qlosync created even when the worker died before recording it.
"""

from __future__ import annotations

import re
import uuid

_MARK = "qlosync:"
_SUFFIX = re.compile(r"\s*\[qlosync:([0-9a-f]+)\]\s*$")


def new_token() -> str:
    return uuid.uuid4().hex[:20]


def with_token(source: str | None, token: str) -> str:
    return f"{(source or 'PMS').strip()[:60]} [{_MARK}{token}]"


def token_in(source: str | None) -> str | None:
    match = _SUFFIX.search(source or "")
    return match.group(1) if match else None


def without_token(source: str) -> str:
    return _SUFFIX.sub("", source)


STOP_SELL_SOURCE = "qlosync stop-sell"


def is_stop_sell(source: str | None) -> bool:
    """The order is qlosync's own stop-sell booking (sync/availability.py): never a guest's."""
    return (source or "").startswith(STOP_SELL_SOURCE)
