"""The ``qloapps_dead_letters`` records: one row per message given up on, keyed by the dramatiq message id.

The message itself stays in ``qloapps.dlq``; the row is what operators read (and what `qlosync dlq`
updates). Everything written here is sanitised: arguments whose name looks secret are redacted and
error texts are scrubbed of anything shaped like the QloApps API key, then truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsDeadLetter
from qlosync.db.session import rows_changed
from qlosync.states import DeadLetterStatus

MAX_ERROR_CHARS = 2000
REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"key|secret|password|token", re.IGNORECASE)
# Defence in depth: qlosync's exceptions never carry the API key, but if one did, these catch the usual
# shapes (QloApps keys are 32 upper-case letters/digits; ws_key= in URLs; HTTP Basic credentials).
_SECRET_TEXT = (
    (re.compile(r"(ws_key=)[^&\s'\"]+", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"(Basic\s+)[A-Za-z0-9+/=]{8,}"), r"\1" + REDACTED),
    (re.compile(r"(?<![A-Za-z0-9])[A-Z0-9]{32}(?![A-Za-z0-9])"), REDACTED),
)


def redact(value: Any) -> Any:
    """*value* with every mapping entry whose key names a secret replaced by ``[redacted]`` (recursively)."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_NAME.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def scrub(text: str | None, limit: int = MAX_ERROR_CHARS) -> str | None:
    """Error text safe to store: secret-shaped substrings replaced, then cut to *limit* characters."""
    if text is None:
        return None
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_dead_letter(
    session: Session,
    *,
    message_id: str,
    actor_name: str,
    queue_name: str,
    args: Iterable[Any],
    kwargs: dict[str, Any],
    reason: str,
    error_class: str | None,
    error_message: str | None,
    retries: int,
    dead_at: datetime | None = None,
) -> None:
    """Insert the record, or (a requeued message died again) put it back to ``dead`` with the new error."""
    values = {
        "message_id": message_id,
        "actor_name": actor_name[:128],
        "queue_name": queue_name[:128],
        "args": redact(list(args)),
        "kwargs": redact(dict(kwargs)),
        "reason": reason[:32],
        "error_class": error_class[:255] if error_class else None,
        "error_message": scrub(error_message),
        "retries": retries,
        "status": DeadLetterStatus.DEAD,
        "dead_at": dead_at if dead_at is not None else func.now(),
        "requeue_count": 0,
    }
    statement = insert(QloAppsDeadLetter).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in ("message_id", "requeue_count")}
    # requeue_count and requeued_at survive: they are the message's history.
    statement = statement.on_conflict_do_update(
        index_elements=[QloAppsDeadLetter.message_id], set_={**changed, "resolved_at": None}
    )
    session.execute(statement)


def ensure_dead(session: Session, **values: Any) -> bool:
    """For a message found in the DLQ: create its record if missing (True), else make sure it says dead."""
    existing = get(session, values["message_id"])
    if existing is None:
        record_dead_letter(session, **values)
        return True
    if existing.status != DeadLetterStatus.DEAD:
        existing.status = DeadLetterStatus.DEAD
        existing.resolved_at = None
    return False


def get(session: Session, message_id: str) -> QloAppsDeadLetter | None:
    return session.scalars(select(QloAppsDeadLetter).where(QloAppsDeadLetter.message_id == message_id)).one_or_none()


def list_records(session: Session, statuses: Iterable[str] = (DeadLetterStatus.DEAD,)) -> list[QloAppsDeadLetter]:
    query = select(QloAppsDeadLetter).where(QloAppsDeadLetter.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(QloAppsDeadLetter.dead_at, QloAppsDeadLetter.id)))


def mark_requeued(session: Session, message_id: str) -> int:
    """Record a requeue; returns the new requeue count."""
    statement = (
        update(QloAppsDeadLetter)
        .where(QloAppsDeadLetter.message_id == message_id)
        .values(status=DeadLetterStatus.REQUEUED, requeued_at=func.now(), requeue_count=QloAppsDeadLetter.requeue_count + 1,
                resolved_at=None)
        .returning(QloAppsDeadLetter.requeue_count)
    )
    return int(session.execute(statement).scalar_one())


def mark_dead(session: Session, message_id: str) -> None:
    """Undo :func:`mark_requeued` when the publish failed (the message is still in the DLQ)."""
    session.execute(update(QloAppsDeadLetter).where(QloAppsDeadLetter.message_id == message_id).values(status=DeadLetterStatus.DEAD))


def mark_succeeded(session: Session, message_id: str) -> bool:
    """A requeued message finally succeeded; True if a record was updated.

    ``dead`` too: a worker that died between writing the record and RabbitMQ receiving its nack leaves a
    record for a message that was redelivered instead of dead-lettered.
    """
    statement = (
        update(QloAppsDeadLetter)
        .where(QloAppsDeadLetter.message_id == message_id, QloAppsDeadLetter.status.in_((DeadLetterStatus.REQUEUED, DeadLetterStatus.DEAD)))
        .values(status=DeadLetterStatus.SUCCEEDED, resolved_at=func.now())
    )
    return bool(rows_changed(session, statement))


def mark_purged(session: Session, message_id: str) -> None:
    statement = (
        update(QloAppsDeadLetter)
        .where(QloAppsDeadLetter.message_id == message_id)
        .values(status=DeadLetterStatus.PURGED, resolved_at=func.now())
    )
    session.execute(statement)
