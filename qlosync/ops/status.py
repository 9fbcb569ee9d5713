"""A snapshot of qlosync's state for operators: schema, configuration, last runs, backlog."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from qlosync.sync.outbound.outbox import backlog

from qlosync.db.models import (
    QloAppsConfig,
    QloAppsConflict,
    QloAppsStopSellBlock,
    QloAppsDeadLetter,
    QloAppsReservationMapping,
    QloAppsSyncCursor,
    QloAppsSyncLog,
    QloAppsSyncState,
)


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else None


def shop_status(session: Session, shop: QloAppsConfig) -> dict[str, Any]:
    cursor = session.get(QloAppsSyncCursor, shop.id)
    last_run = session.scalars(
        select(QloAppsSyncState)
        .where(QloAppsSyncState.config_id == shop.id)
        .order_by(QloAppsSyncState.started_at.desc(), QloAppsSyncState.id.desc())
        .limit(1)
    ).first()
    parked = session.scalar(
        select(func.count())
        .select_from(QloAppsReservationMapping)
        .where(QloAppsReservationMapping.config_id == shop.id, QloAppsReservationMapping.parked_reason.is_not(None))
    )
    mapped = session.scalar(
        select(func.count())
        .select_from(QloAppsReservationMapping)
        .where(QloAppsReservationMapping.config_id == shop.id, QloAppsReservationMapping.qloapps_order_id.is_not(None))
    )
    refused = session.execute(
        select(QloAppsReservationMapping.pms_reservation_id, QloAppsReservationMapping.push_error)
        .where(QloAppsReservationMapping.config_id == shop.id, QloAppsReservationMapping.push_error.is_not(None))
        .order_by(QloAppsReservationMapping.push_error_at.desc()).limit(20)
    ).all()
    refused_count = session.scalar(
        select(func.count()).select_from(QloAppsReservationMapping)
        .where(QloAppsReservationMapping.config_id == shop.id, QloAppsReservationMapping.push_error.is_not(None))
    )
    conflicts = session.scalar(
        select(func.count()).select_from(QloAppsConflict)
        .where(QloAppsConflict.config_id == shop.id, QloAppsConflict.status == "open")
    )
    latest_rates = (
        select(QloAppsSyncLog.entity_id, QloAppsSyncLog.action, QloAppsSyncLog.reason)
        .where(QloAppsSyncLog.config_id == shop.id, QloAppsSyncLog.entity_type == "room_type",
               QloAppsSyncLog.action.in_(("rates_pushed", "rate_mismatch")))
        .order_by(QloAppsSyncLog.entity_id, QloAppsSyncLog.created_at.desc(), QloAppsSyncLog.id.desc())
        .ext(distinct_on(QloAppsSyncLog.entity_id))
    )
    rate_mismatches = [{"qloapps_room_type_id": entity, "reason": reason}
                       for entity, action, reason in session.execute(latest_rates) if action == "rate_mismatch"]
    stop_sell = session.execute(select(QloAppsStopSellBlock.qloapps_room_type_id, QloAppsStopSellBlock.blocked,
                                       QloAppsStopSellBlock.conflicts)
                                .where(QloAppsStopSellBlock.config_id == shop.id)
                                .order_by(QloAppsStopSellBlock.qloapps_room_type_id)).all()
    return {
        "name": shop.name,
        "base_url": shop.base_url,
        "sync_enabled": shop.sync_enabled,
        "last_successful_sync": _iso(cursor.last_successful_sync) if cursor else None,
        "last_full_sync": _iso(cursor.last_full_sync) if cursor else None,
        "cursor": (
            f"{_iso(cursor.cursor_date_upd)} #{cursor.cursor_id}" if cursor and cursor.cursor_date_upd else None
        ),
        "last_run": (
            {
                "id": last_run.id,
                "kind": last_run.kind,
                "trigger": last_run.trigger,
                "status": last_run.status,
                "started_at": _iso(last_run.started_at),
                "finished_at": _iso(last_run.finished_at),
                "seen": last_run.seen,
                "created": last_run.created,
                "updated": last_run.updated,
                "unchanged": last_run.unchanged,
                "failed": last_run.failed,
                "parked": last_run.parked,
                "error": last_run.error,
            }
            if last_run
            else None
        ),
        "reservations_mapped": mapped,
        "bookings_parked": parked,
        "pushes_refused": refused_count,
        "refused": [{"pms_reservation_id": rid, "reason": reason} for rid, reason in refused],
        "open_conflicts": conflicts,
        "rate_mismatches": rate_mismatches,
        "stop_sell": [{"qloapps_room_type_id": rt, "room_nights_off_sale": sum(int(c) for _, c in blocked),
                       "room_nights_guests_keep": sum(int(c) for _, c in conflicts),
                       "first_short_night": conflicts[0][0] if conflicts else None}
                      for rt, blocked, conflicts in stop_sell],
    }


def collect_status(session: Session) -> dict[str, Any]:
    shops = session.scalars(select(QloAppsConfig).order_by(QloAppsConfig.id)).all()
    dead = session.scalar(
        select(func.count()).select_from(QloAppsDeadLetter).where(QloAppsDeadLetter.status == "dead")
    )
    outbox = backlog(session)
    return {
        "shops": [shop_status(session, shop) for shop in shops],
        "dead_letters": dead,
        "outbox": {"unsent": outbox.unsent, "oldest_unsent_at": _iso(outbox.oldest_unsent_at),
                   "lag_seconds": round(outbox.lag_seconds, 1)},
    }
