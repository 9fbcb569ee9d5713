"""Apply one QloApps booking to the PMS: an idempotent upsert keyed by the QloApps order id.

``apply_snapshot`` is the only writer of inbound reservations. It compares the content hash of what it
would write with the hash stored in the reservation mapping, so applying the same booking twice writes
nothing, and a booking that qlosync itself pushed (whose hash the outbound side stored) is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomLineMapping, QloAppsSyncLog
from qlosync.db.pms import PmsReservation, PmsReservationLine
from qlosync.qloapps.models import BookingSnapshot
from qlosync.sync.catalog import room_mappings, room_type_mappings
from qlosync.sync.guests import match_guest, update_guest_details
from qlosync.sync.locks import try_record_lock
from qlosync.sync.mapper import LineData, ReservationData, content_hash, map_snapshot

logger = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged", "parked"]


@dataclass(frozen=True)
class ApplyResult:
    """What applying one booking did."""

    outcome: Outcome
    qloapps_order_id: int
    pms_reservation_id: int | None
    reason: str | None = None


@dataclass
class Catalog:
    """Room-type and room mappings, loaded once per run (or per booking outside a run)."""

    room_types: dict[int, int] = field(default_factory=dict)
    rooms: dict[int, int] = field(default_factory=dict)
    currencies: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, config_id: int, currencies: Mapping[int, str]) -> Catalog:
        return cls(room_type_mappings(session, config_id), room_mappings(session, config_id), currencies)


def sync_log(session: Session, shop: ShopConfig, level: str, entity_id: object, action: str, reason: str | None = None,
             sync_state_id: int | None = None, **details: object) -> None:
    """Record a per-booking event for operators (qloapps_sync_logs)."""
    session.add(
        QloAppsSyncLog(
            config_id=shop.id, sync_state_id=sync_state_id, level=level, entity_type="booking",
            entity_id=str(entity_id), action=action, reason=reason, details=details,
        )
    )


def _mapping_for(session: Session, config_id: int, order_id: int) -> QloAppsReservationMapping | None:
    return session.scalars(
        select(QloAppsReservationMapping)
        .where(QloAppsReservationMapping.config_id == config_id, QloAppsReservationMapping.qloapps_order_id == order_id)
        .with_for_update()
    ).one_or_none()


def apply_snapshot(
    session: Session,
    shop: ShopConfig,
    snapshot: BookingSnapshot,
    catalog: Catalog,
    *,
    sync_state_id: int | None = None,
) -> ApplyResult:
    """Create, update, park or leave alone the PMS reservation for one QloApps order."""
    order_id = snapshot.id
    try_record_lock(session, "qloapps-order", shop.id, order_id)
    data = map_snapshot(snapshot, catalog.currencies)
    digest = content_hash(data)
    mapping = _mapping_for(session, shop.id, order_id)
    if (
        mapping is not None
        and mapping.qloapps_hash == digest
        and mapping.parked_reason is None
        and mapping.pms_reservation_id is not None
    ):
        if mapping.qloapps_date_upd != snapshot.order.date_upd:
            mapping.qloapps_date_upd = snapshot.order.date_upd
        return ApplyResult("unchanged", order_id, mapping.pms_reservation_id)

    if mapping is None:
        mapping = QloAppsReservationMapping(config_id=shop.id, qloapps_order_id=order_id, origin="qloapps")
        session.add(mapping)

    missing = sorted({line.qloapps_room_type_id for line in data.lines} - catalog.room_types.keys())
    if missing:
        reason = f"QloApps room type(s) {', '.join(map(str, missing))} not mapped to a PMS room type"
        if mapping.parked_reason != reason:
            sync_log(session, shop, "warning", order_id, "parked", reason, sync_state_id, room_types=missing)
        mapping.parked_reason = reason
        mapping.qloapps_date_upd = snapshot.order.date_upd
        session.flush()
        return ApplyResult("parked", order_id, mapping.pms_reservation_id, reason)

    match = match_guest(session, shop.id, data.guest)
    update_guest_details(match.guest, data.guest)

    reservation = session.get(PmsReservation, mapping.pms_reservation_id) if mapping.pms_reservation_id else None
    outcome: Outcome = "updated"
    if reservation is None:
        reservation = PmsReservation(guest_id=match.guest.id, lines=[])
        session.add(reservation)
        outcome = "created"
    _write_reservation(reservation, data, match.guest.id)
    session.flush()
    _reconcile_lines(session, shop.id, reservation, data, catalog, new=outcome == "created")

    mapping.pms_reservation_id = reservation.id
    mapping.qloapps_hash = digest
    mapping.pms_hash = digest
    mapping.qloapps_date_upd = snapshot.order.date_upd
    mapping.parked_reason = None
    mapping.last_synced_at = datetime.now(UTC)
    session.flush()
    guest_decision = (
        {"guest_match": match.method, "qloapps_customer_id": data.guest.qloapps_customer_id, "pms_guest_id": match.guest.id}
        if match.new_mapping
        else {}
    )
    sync_log(session, shop, "info", order_id, outcome, match.note, sync_state_id, pms_reservation_id=reservation.id,
             status=data.status, **guest_decision)
    logger.debug("Booking %s %s as reservation %s.", order_id, outcome, reservation.id,
                extra={"action": "import_booking", "qloapps_order_id": order_id, "pms_reservation_id": reservation.id})
    return ApplyResult(outcome, order_id, reservation.id)


def _write_reservation(reservation: PmsReservation, data: ReservationData, guest_id: int) -> None:
    reservation.guest_id = guest_id
    reservation.status = data.status
    reservation.source = data.source
    reservation.currency = data.currency
    reservation.total_without_tax = data.total_without_tax
    reservation.total_tax = data.total_tax
    reservation.total_paid = data.total_paid
    reservation.booked_at = data.booked_at.replace(tzinfo=UTC)
    reservation.remarks = f"QloApps order {data.qloapps_order_id} ({data.reference})"


def _reconcile_lines(
    session: Session, config_id: int, reservation: PmsReservation, data: ReservationData, catalog: Catalog,
    *, new: bool,
) -> None:
    """Match QloApps room lines to PMS lines so that renumbered QloApps lines update the same PMS rows.

    First by the recorded QloApps line id; then, for lines QloApps renumbered (date or room type change,
    B24), the remaining PMS line of the same room type (same dates first); the rest are added or removed.
    """
    # A reservation created just now has no lines and no line mappings: skip the look-ups.
    known = {} if new else {
        m.qloapps_room_booking_id: m.pms_reservation_line_id
        for m in session.scalars(
            select(QloAppsRoomLineMapping).where(
                QloAppsRoomLineMapping.config_id == config_id,
                QloAppsRoomLineMapping.qloapps_order_id == data.qloapps_order_id,
            )
        )
    }
    free = {} if new else {line.id: line for line in reservation.lines}
    pairs: list[tuple[LineData, PmsReservationLine | None]] = []
    pending: list[LineData] = []
    for line in data.lines:
        pms_line = free.pop(known.get(line.qloapps_room_booking_id, -1), None)
        if pms_line is None:
            pending.append(line)
        else:
            pairs.append((line, pms_line))
    for line in pending:
        room_type_id = catalog.room_types[line.qloapps_room_type_id]
        same_type = [p for p in free.values() if p.room_type_id == room_type_id]
        same_type.sort(key=lambda p: (p.checkin != line.checkin or p.checkout != line.checkout, p.id))
        pms_line = free.pop(same_type[0].id) if same_type else None
        pairs.append((line, pms_line))
    for leftover in free.values():
        reservation.lines.remove(leftover)

    if known:
        session.execute(
            delete(QloAppsRoomLineMapping).where(
                QloAppsRoomLineMapping.config_id == config_id,
                QloAppsRoomLineMapping.qloapps_order_id == data.qloapps_order_id,
            )
        )
    resolved: list[tuple[LineData, PmsReservationLine]] = []
    for line, existing in pairs:
        pms_line = existing if existing is not None else PmsReservationLine()
        if existing is None:
            reservation.lines.append(pms_line)
        pms_line.room_type_id = catalog.room_types[line.qloapps_room_type_id]
        pms_line.room_id = catalog.rooms.get(line.qloapps_room_id)
        pms_line.checkin = line.checkin
        pms_line.checkout = line.checkout
        pms_line.adults = line.adults
        pms_line.children = line.children
        pms_line.child_ages = list(line.child_ages)
        pms_line.price_without_tax = line.price_without_tax
        pms_line.tax = line.tax
        resolved.append((line, pms_line))
    session.flush()
    session.add_all(
        QloAppsRoomLineMapping(
            config_id=config_id,
            qloapps_order_id=data.qloapps_order_id,
            qloapps_room_booking_id=line.qloapps_room_booking_id,
            pms_reservation_line_id=pms_line.id,
        )
        for line, pms_line in resolved
    )
    session.flush()
