"""Create a QloApps booking at most once: the protocol a reservation push and a stop-sell block share.

A POST can succeed on QloApps while the worker dies, times out or reads a 500 (B21). So the caller
commits the intent (a token, and when it was sent) before the POST, and the token travels in the order's
``source``. Before any create is sent again, :func:`earlier_create` looks for the order carrying the
token: first among the newest orders (one request), then among every order of the customers the booking
could have been attached to (two requests). Not finding it proves nothing until the settle window has
passed, since QloApps may still be working on a request the client gave up on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from qlosync.errors import TransientError
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import Order
from qlosync.settings import Settings
from qlosync.sync.push_token import token_in

RECENT_ORDERS = 100


class CreatePending(TransientError):
    """An earlier create may still be running on QloApps: wait before deciding it never happened."""


def settle_window(read_timeout_s: float) -> timedelta:
    """How long a create whose order is not found may still make one: a request the client gave up on after
    its read timeout can still be running on QloApps, and one retry of it too, plus a margin."""
    return timedelta(seconds=2 * read_timeout_s + 5)


def settle_window_of(settings: Settings) -> timedelta:
    return settle_window(settings.http_read_timeout_s)


#: At the default QLOAPPS_HTTP_READ_TIMEOUT_S, for callers without settings (tests, benchmarks).
DEFAULT_SETTLE_WINDOW = settle_window(Settings.http_read_timeout_s)


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


def earlier_create(client: QloAppsClient, token: str | None, attempted_at: datetime | None, emails: Iterable[str],
                   settle_after: timedelta, what: str) -> int | None:
    """The order an earlier create of *what* made; None when there was no attempt, or none that can still
    make one (send the create again, same token). Raises :class:`CreatePending` while one still might."""
    if token is None or attempted_at is None:
        return None
    order_id = find_created_order(client, token, emails)
    if order_id is not None:
        return order_id
    waited = datetime.now(UTC) - attempted_at
    if waited < settle_after:
        raise CreatePending(f"{what} sent {waited.total_seconds():.0f} s ago left no order yet; waiting up to "
                            f"{settle_after.total_seconds():.0f} s before sending it again")
    return None
