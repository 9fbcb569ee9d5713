"""The ``pms_outbox`` table: what the relay claims and marks, what status reports, and a manual enqueue.

Rows are written by the database triggers of migrations 0002 (reservations), 0003 (rates) and 0004
(availability), and by
:func:`request_push`; the relay claims unsent rows with ``FOR UPDATE SKIP LOCKED`` so several relays
never publish the same row at once, and coalesces the rows of one reservation (or of one room type's
rates) into one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from qlosync.pms.builtin.tables import PmsOutbox
from qlosync.states import OutboxOperation

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
    session.add(PmsOutbox(aggregate="reservation", aggregate_id=reservation_id, operation=OutboxOperation.UPDATE,
                          payload={"reason": reason}))
    notify(session)


@dataclass
class RoomTypeRequest:
    """The coalesced rate (or availability) changes of one PMS room type: one message for all their nights."""

    room_type_id: int
    operation: str  # OutboxOperation.RATES or .AVAILABILITY
    date_from: date
    date_to: date  # the last night, inclusive
    row_ids: list[int] = field(default_factory=list)


OutboxMessage = PushRequest | RoomTypeRequest


def claim(session: Session, limit: int) -> list[OutboxMessage]:
    """Lock up to *limit* unsent rows (oldest first, skipping rows another relay holds), one message per
    reservation or per room type and operation (rates, availability)."""
    rows = session.execute(
        select(PmsOutbox.id, PmsOutbox.aggregate, PmsOutbox.aggregate_id, PmsOutbox.operation, PmsOutbox.payload,
               PmsOutbox.created_at)
        .where(PmsOutbox.published_at.is_(None))
        .order_by(PmsOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    pushes: dict[int, PushRequest] = {}
    room_types: dict[tuple[int, str], RoomTypeRequest] = {}
    for row_id, aggregate, aggregate_id, operation, payload, created_at in rows:
        payload = payload or {}
        if aggregate == "room_type":
            start, end = date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"])
            found = room_types.setdefault((aggregate_id, operation),
                                          RoomTypeRequest(aggregate_id, operation, start, end))
            found.date_from, found.date_to = min(found.date_from, start), max(found.date_to, end)
            found.row_ids.append(row_id)
            continue
        group = pushes.setdefault(aggregate_id, PushRequest(aggregate_id, first_created_at=created_at))
        group.row_ids.append(row_id)
        for mapping_id in payload.get("mapping_ids", []) or []:
            if mapping_id not in group.mapping_ids:
                group.mapping_ids.append(int(mapping_id))
    return [*pushes.values(), *room_types.values()]


def mark_published(session: Session, row_ids: Sequence[int]) -> None:
    session.execute(update(PmsOutbox).where(PmsOutbox.id.in_(list(row_ids)))
                    .values(published_at=func.now(), attempts=PmsOutbox.attempts + 1, last_error=None))


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
