"""Dead letters for operators: list, show, requeue, purge (``qlosync dlq`` and ``/api/v1/qloapps/dlq``).

The work is done by :mod:`qlosync.runtime.dlq` (browse ``qloapps.dlq``, reconcile the records, publish
back with confirms); this module turns its views into plain records both faces print or serialise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from qlosync.runtime import dlq
from qlosync.runtime.dlq import DeadLetterNotFoundError, RequeueResult
from qlosync.settings import Settings
from qlosync.states import DeadLetterStatus


class NotRequeuableError(DeadLetterNotFoundError):
    """The message is in the DLQ but cannot go back to a queue (its body is not a dramatiq message)."""


@dataclass(frozen=True)
class DeadLetterInfo:
    """What qlosync knows about one dead letter; ``in_queue`` says whether its message is still in the DLQ."""

    message_id: str
    actor: str
    origin_queue: str
    reason: str | None
    error_class: str | None
    error_message: str | None
    retries: int
    args: list[Any]
    kwargs: dict[str, Any]
    status: str
    in_queue: bool
    dead_at: datetime | None
    requeued_at: datetime | None
    requeue_count: int
    resolved_at: datetime | None
    x_death: list[dict[str, Any]] = field(default_factory=list)


def _info(view: dlq.DeadLetterView) -> DeadLetterInfo:
    record = view.record
    return DeadLetterInfo(
        message_id=record.message_id, actor=record.actor_name, origin_queue=record.queue_name, reason=record.reason,
        error_class=record.error_class, error_message=record.error_message, retries=record.retries,
        args=list(record.args or []), kwargs=dict(record.kwargs or {}), status=record.status, in_queue=view.in_queue,
        dead_at=record.dead_at, requeued_at=record.requeued_at, requeue_count=record.requeue_count,
        resolved_at=record.resolved_at, x_death=view.x_death,
    )


def list_dead_letters(settings: Settings, sessions: sessionmaker[Session],
                      statuses: tuple[str, ...] = (DeadLetterStatus.DEAD,)) -> list[DeadLetterInfo]:
    """Records with these statuses, oldest first (the DLQ is browsed and reconciled first)."""
    return [_info(view) for view in dlq.list_dead_letters(sessions, settings.rabbitmq_url, statuses=statuses)]


def show_dead_letter(settings: Settings, sessions: sessionmaker[Session], message_id: str) -> DeadLetterInfo:
    return _info(dlq.show_dead_letter(sessions, settings.rabbitmq_url, message_id))


def requeue(settings: Settings, sessions: sessionmaker[Session], message_id: str | None) -> RequeueResult:
    """Send one dead letter (or all, for None) back to its queue of origin with retries reset."""
    return dlq.requeue(sessions, settings.rabbitmq_url, message_id)


def requeue_one(settings: Settings, sessions: sessionmaker[Session], message_id: str) -> None:
    """Requeue exactly this message, or raise saying why it could not go."""
    result = requeue(settings, sessions, message_id)
    for _skipped, why in result.skipped:
        raise NotRequeuableError(f"message {message_id!r} was not requeued: {why}")


def purge(settings: Settings, sessions: sessionmaker[Session], message_id: str | None) -> list[str]:
    """Delete one dead letter (or all) from the DLQ for good; the records stay, marked purged."""
    return dlq.purge(sessions, settings.rabbitmq_url, message_id)
