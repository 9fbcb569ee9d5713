"""Gap-free incremental paging over orders ordered by (date_upd, id), for a second-granular date_upd.

QloApps can filter ``date_upd`` only by whole seconds (``>[t]`` strict, ``[a,b]`` inclusive, B29) and many
orders share one second (B29, B30), so neither a strict ``>`` cursor (skips rows of the last second) nor
plain ``limit=offset,count`` (shifts when rows change mid-pass) is safe on its own. See
:func:`iter_changed_pages` for the algorithm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import bisect

from qlosync.qloapps.errors import QloAppsPagingError
from qlosync.qloapps.models import Order

# fetch(lower, offset, count): orders with date_upd >= lower (all when None), sorted by (date_upd, id),
# skipping `offset` rows and returning at most `count`.
Fetch = Callable[[datetime | None, int, int], list[Order]]

MAX_RESCANS = 10


def iter_changed_pages(fetch: Fetch, lower: datetime | None, page_size: int) -> Iterator[list[Order]]:
    """Yield pages of orders with date_upd >= *lower*, each (id, date_upd) version at most once.

    Algorithm (keyset on the second, offset inside it, anchor-checked):

    1. Keep a boundary: ``lower`` (a whole second) and ``boundary`` (the ids seen so far whose date_upd is
       exactly ``lower``, in id order). Every query asks for ``date_upd >= lower`` (sent as
       ``>[lower - 1s]``) sorted by ``[date_upd_ASC,id_ASC]``.
    2. While no row of ``lower`` has been seen, ask ``limit=0,page_size``. Otherwise ask
       ``limit=len(boundary)-1,page_size+1``: the first row returned must be the *anchor*, the last row we
       saw (same id, same date_upd). Then the remaining rows are exactly the next ones, however many orders
       share the boundary second (a 250-orders second at page size 50 is walked 50 at a time).
    3. If the anchor is not where expected, rows of the boundary second were updated away or added while
       we paged, so the offset is no longer trustworthy: rescan the boundary second from offset 0 (the
       version set below drops what was already yielded). After ``MAX_RESCANS`` such shifts the pass gives
       up with :class:`QloAppsPagingError` (transient) rather than risk a gap.
    4. Every row moves the boundary: the same second appends to ``boundary``, a later second starts a new
       boundary. An order is yielded unless this exact (id, date_upd) was already yielded in this pass; an
       order updated mid-pass to a later second is therefore yielded again with its new version, so a caller
       that stores the last yielded (date_upd, id) as its cursor never steps over a change.
    5. The pass ends at the first short page. Every full page grows ``boundary`` or raises ``lower``, so
       each request makes progress and the pass ends once no new changes arrive.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    boundary: list[int] = []
    yielded: dict[int, datetime] = {}
    rescans = 0
    while True:
        anchored = bool(boundary)
        offset, count = (len(boundary) - 1, page_size + 1) if anchored else (0, page_size)
        rows = fetch(lower, offset, count)
        if anchored:
            if not rows or rows[0].id != boundary[-1] or rows[0].date_upd != lower:
                rescans += 1
                if rescans > MAX_RESCANS:
                    raise QloAppsPagingError(
                        f"orders kept changing under the pager ({rescans - 1} rescans of {lower}); try again later"
                    )
                boundary = []
                continue
            body = rows[1:]
        else:
            body = rows
        fresh: list[Order] = []
        for order in body:
            if lower is None or order.date_upd > lower:
                lower, boundary = order.date_upd, [order.id]
            elif order.date_upd == lower:
                boundary.append(order.id)
            else:  # older than the filter allows: the server ignored it; never let it move the cursor back
                continue
            if yielded.get(order.id) != order.date_upd:
                yielded[order.id] = order.date_upd
                fresh.append(order)
        if fresh:
            yield fresh
        if len(rows) < count:
            return


def iter_id_pages(fetch_by_offset: Callable[[int, int], list[Order]], page_size: int) -> Iterator[list[Order]]:
    """Yield every order once, by id, with ``limit=offset,count`` (order ids never go away: DELETE is 405, B27)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    offset = 0
    seen = _IdSet()
    while True:
        rows = fetch_by_offset(offset, page_size)
        fresh = [o for o in rows if o.id not in seen]
        for o in fresh:
            seen.add(o.id)
        if fresh:
            yield fresh
        if len(rows) < page_size:
            return
        offset += len(rows)


class _IdSet:
    """A set of ints that costs memory per gap, not per id, when ids arrive ascending (ids listed by id).

    Runs of consecutive ids are kept as [first, last] pairs; an id that does not extend the ids so far
    (a server that ignored the sort) goes into a plain set. Membership is exactly that of a set.
    """

    def __init__(self) -> None:
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self._others: set[int] = set()

    def __contains__(self, value: int) -> bool:
        if value in self._others:
            return True
        i = bisect.bisect_right(self._firsts, value) - 1
        return i >= 0 and value <= self._lasts[i]

    def add(self, value: int) -> None:
        if self._lasts and value == self._lasts[-1] + 1:
            self._lasts[-1] = value
        elif not self._lasts or value > self._lasts[-1]:
            self._firsts.append(value)
            self._lasts.append(value)
        elif value not in self:
            self._others.add(value)
