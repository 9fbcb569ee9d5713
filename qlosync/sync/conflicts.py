"""Both sides changed one reservation since the last sync: who wins, and the record a person resolves.

One rule for both directions (the pull and the push call :func:`winner`): ``pms_wins``, ``qloapps_wins``,
``newest_wins`` (the later change wins; QloApps' ``date_upd`` is read as UTC, the server clock qlosync
assumes everywhere) or ``manual`` (nothing changes on either side until ``qlosync conflicts resolve``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.db.models import QloAppsConflict, QloAppsReservationMapping
from qlosync.errors import PermanentError
from qlosync.states import ConflictStatus, ConflictStrategy
from qlosync.states import Side as Side  # re-exported: the side a conflict keeps is named where conflicts are


class ConflictNotFound(PermanentError):
    """No open conflict with that id."""


def winner(strategy: str, pms_changed_at: datetime, qloapps_changed_at: datetime) -> Side | None:
    """The side whose version is kept, or None for ``manual``."""
    if strategy == ConflictStrategy.PMS_WINS:
        return Side.PMS
    if strategy == ConflictStrategy.QLOAPPS_WINS:
        return Side.QLOAPPS
    if strategy == ConflictStrategy.NEWEST_WINS:
        qlo = qloapps_changed_at if qloapps_changed_at.tzinfo else qloapps_changed_at.replace(tzinfo=UTC)
        return Side.PMS if pms_changed_at >= qlo else Side.QLOAPPS
    return None


def open_conflict_mappings(session: Session, mapping_ids: Collection[int]) -> set[int]:
    """Which of these reservation mappings have an open conflict (sync leaves them alone)."""
    if not mapping_ids:
        return set()
    return set(session.scalars(select(QloAppsConflict.mapping_id).where(
        QloAppsConflict.mapping_id.in_(list(mapping_ids)), QloAppsConflict.status == ConflictStatus.OPEN)))


def record_conflict(session: Session, mapping: QloAppsReservationMapping, *, detected_by: str,
                    pms_changed_at: datetime, qloapps_changed_at: datetime, details: dict[str, object]) -> QloAppsConflict:
    """Open a conflict for this mapping, or return the one already open."""
    existing = session.scalars(select(QloAppsConflict).where(
        QloAppsConflict.mapping_id == mapping.id, QloAppsConflict.status == ConflictStatus.OPEN)).first()
    if existing is not None:
        return existing
    conflict = QloAppsConflict(
        config_id=mapping.config_id, mapping_id=mapping.id, pms_reservation_id=mapping.pms_reservation_id,
        qloapps_order_id=mapping.qloapps_order_id, detected_by=detected_by, pms_changed_at=pms_changed_at,
        qloapps_changed_at=qloapps_changed_at.replace(tzinfo=None), details=details,
        status=ConflictStatus.OPEN,
    )
    session.add(conflict)
    session.flush()
    return conflict


def list_conflicts(session: Session, *, include_resolved: bool = False) -> list[QloAppsConflict]:
    query = select(QloAppsConflict).order_by(QloAppsConflict.id)
    if not include_resolved:
        query = query.where(QloAppsConflict.status == ConflictStatus.OPEN)
    return list(session.scalars(query))


def close_conflict(session: Session, conflict_id: int, keep: Side) -> QloAppsConflict:
    """Mark an open conflict resolved (the caller then makes *keep*'s version win on both sides)."""
    conflict = session.get(QloAppsConflict, conflict_id, with_for_update=True)
    if conflict is None or conflict.status != ConflictStatus.OPEN:
        raise ConflictNotFound(f"no open conflict {conflict_id} (`qlosync conflicts list`)")
    conflict.status, conflict.resolution, conflict.resolved_at = ConflictStatus.RESOLVED, keep, datetime.now(UTC)
    session.flush()
    return conflict
