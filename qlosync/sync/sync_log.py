"""The operator log (qloapps_sync_logs): one row per booking, reservation or room-type event worth a look,
written by pulls, pushes and ARI alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsSyncLog
from qlosync.states import LogLevel


def sync_log(session: Session, shop: ShopConfig, level: LogLevel, entity_id: object, action: str, reason: str | None = None,
             sync_state_id: int | None = None, *, entity_type: str = "booking", **details: object) -> None:
    """Record a per-booking (or per-room-type) event for operators (qloapps_sync_logs)."""
    session.add(
        QloAppsSyncLog(
            config_id=shop.id, sync_state_id=sync_state_id, level=level, entity_type=entity_type,
            entity_id=str(entity_id), action=action, reason=reason, details=details,
        )
    )
