"""The hotelmanangement PMS's change capture (STUB: being written; the interface is fixed).

Triggers on that PMS's tables (installed by :func:`install`, in qlosync's schema) write ``hms_outbox``;
:class:`HmsFeed` claims and marks its rows as the port's :class:`~qlosync.pms.port.ChangeFeed`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.pms.port import Backlog, CapturedChange, PmsId

CHANNEL = "qlosync_hms_outbox"


class HmsFeed:
    channel: str = CHANNEL

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, limit: int) -> list[CapturedChange]:
        raise NotImplementedError

    def mark_published(self, row_ids: Sequence[int]) -> None:
        raise NotImplementedError

    def backlog(self) -> Backlog:
        raise NotImplementedError

    def request_push(self, reservation_id: PmsId, reason: str) -> None:
        raise NotImplementedError


def mark_sync_writes(session: Session) -> None:
    # Transaction-local, as with the built-in PMS: the capture triggers skip this transaction's writes.
    session.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))


def install(session: Session) -> None:
    raise NotImplementedError


def remove(session: Session) -> None:
    raise NotImplementedError
