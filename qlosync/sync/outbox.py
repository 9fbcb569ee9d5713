"""The ``pms_outbox`` table: what the relay claims and marks, what status reports, and a manual enqueue.

Rows are written by the database triggers of migration 0002 (and by :func:`request_push`); the relay
claims unsent rows with ``FOR UPDATE SKIP LOCKED`` so several relays never publish the same row at
once, and coalesces the rows of one reservation into one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from qlosync.db.pms import PmsOutbox

CHANNEL = "qlosync_outbox"


@dataclass
class PushRequest:
    """The coalesced outbox rows of one reservation: one message."""

    reservation_id: int
    row_ids: list[int] = field(default_factory=list)
    mapping_ids: list[int] = field(default_factory=list)  # set when the reservation row was deleted
    first_created_at: datetime | None = None


def notify(session: Session) -> None:
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def request_push(session: Session, reservation_id: int, reason: str) -> None:
    """Queue a push of one reservation through the outbox (committed with the caller's transaction)."""
    session.add(PmsOutbox(aggregate="reservation", aggregate_id=reservation_id, operation="update",
                          payload={"reason": reason}))
    notify(session)


def claim(session: Session, limit: int) -> list[PushRequest]:
    """Lock up to *limit* unsent rows (oldest first, skipping rows another relay holds), grouped per reservation."""
    rows = session.execute(
        select(PmsOutbox.id, PmsOutbox.aggregate_id, PmsOutbox.payload, PmsOutbox.created_at)
        .where(PmsOutbox.published_at.is_(None), PmsOutbox.aggregate == "reservation")
        .order_by(PmsOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    groups: dict[int, PushRequest] = {}
    for row_id, reservation_id, payload, created_at in rows:
        group = groups.setdefault(reservation_id, PushRequest(reservation_id, first_created_at=created_at))
        group.row_ids.append(row_id)
        for mapping_id in (payload or {}).get("mapping_ids", []) or []:
            if mapping_id not in group.mapping_ids:
                group.mapping_ids.append(int(mapping_id))
    return list(groups.values())


def mark_published(session: Session, row_ids: Sequence[int]) -> None:
    session.execute(update(PmsOutbox).where(PmsOutbox.id.in_(list(row_ids)))
                    .values(published_at=func.now(), attempts=PmsOutbox.attempts + 1, last_error=None))


def mark_failed(session: Session, row_ids: Sequence[int], error: str) -> None:
    session.execute(update(PmsOutbox).where(PmsOutbox.id.in_(list(row_ids)))
                    .values(attempts=PmsOutbox.attempts + 1, last_error=error[:1000]))


@dataclass(frozen=True)
class Backlog:
    unsent: int
    oldest_unsent_at: datetime | None

    @property
    def lag_seconds(self) -> float:
        if self.oldest_unsent_at is None:
            return 0.0
        return max(0.0, (datetime.now(UTC) - self.oldest_unsent_at).total_seconds())


def backlog(session: Session) -> Backlog:
    count, oldest = session.execute(
        select(func.count(), func.min(PmsOutbox.created_at)).where(PmsOutbox.published_at.is_(None))
    ).one()
    return Backlog(int(count or 0), oldest)
