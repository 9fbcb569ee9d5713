"""Closed sets of values shared by the database, the code and the API."""

from __future__ import annotations

from enum import StrEnum


class ShopState(StrEnum):
    """How a shop is doing, in attention order: breaker_open, failing and overdue need a person."""

    # The order of definition is the attention order (qlosync.ops.shops.status ranks by it).
    BREAKER_OPEN = "breaker_open"
    FAILING = "failing"
    OVERDUE = "overdue"
    OK = "ok"
    DISABLED = "disabled"
