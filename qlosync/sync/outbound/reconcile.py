"""Find the order an earlier create may have made before sending the create again (exactly-once create).

A POST can succeed on QloApps while the worker dies, times out or reads a 500 (B21). The intent (a
token) was committed before the POST and travels in the order's ``source``, so the order can be
recognised in listings: first among the newest orders (one request), then among every order of the
customers the booking could have been attached to (two requests).
"""

from __future__ import annotations

from collections.abc import Iterable

from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import Order
from qlosync.sync.push_token import token_in

RECENT_ORDERS = 100


def _with_token(orders: Iterable[Order], token: str) -> int | None:
    matches = sorted(o.id for o in orders if token_in(o.source) == token)
    return matches[0] if matches else None  # the first create wins; a second one cannot exist (lock + intent)


def find_created_order(client: QloAppsClient, token: str, emails: Iterable[str]) -> int | None:
    """The id of the order carrying *token*, or None if QloApps has none."""
    found = _with_token(client.get_newest_orders(RECENT_ORDERS), token)
    if found is not None:
        return found
    customer_ids: set[int] = set()
    for email in dict.fromkeys(e for e in emails if e):
        customer_ids.update(c.id for c in client.find_customers_by_email(email))
    if not customer_ids:
        return None
    return _with_token(client.get_orders_of_customers(customer_ids), token)
