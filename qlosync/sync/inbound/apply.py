"""Apply QloApps bookings to the PMS: idempotent upserts keyed by the QloApps order id.

``apply_snapshots`` (a page) and ``apply_snapshot`` (one booking, the same code) are the only writers of
inbound reservations. They compare the content hash of what they would write with the hash stored in
the reservation mapping, so applying the same booking twice writes nothing, and a booking that qlosync
itself pushed (whose hash the outbound side stored) is a no-op.

The PMS is reached through the port only: the shop's hotel (:func:`qlosync.pms.shop_hotel`) gives the
reservations as they are now, the guest candidates, and takes the page's reservations in one call
(:meth:`HotelPms.write_reservations`, a round trip per table). Each reservation is built once, here
(:func:`_reservation_write`). The writes are marked as QloApps' (``Pms.mark_sync_writes``), so change
capture does not echo them back. A booking whose PMS reservation also changed since the last sync is
settled by the shop's conflict strategy (``_settle_conflicts``); an order that a push created but did not
record (its token is in the order's source) is linked, never imported twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from qlosync.db.bulk import raw_cursor
from qlosync.db.config_store import ShopConfig
from qlosync.db.keyed import rows_by_key
from qlosync.db.models import QloAppsConfig, QloAppsReservationMapping, QloAppsRoomLineMapping
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import HotelPms, LineState, LineWrite, Pms, PmsId, PmsState, ReservationWrite
from qlosync.qloapps.models import BookingSnapshot
from qlosync.states import LogLevel, Side
from qlosync.sync.conflicts import open_conflict_mappings, record_conflict, winner
from qlosync.sync.inbound.catalog import room_mappings, room_type_mappings
from qlosync.sync.inbound.guests import GuestIndex, GuestMatch
from qlosync.sync.inbound.mapper import LineData, ReservationData, content_hash, map_snapshot
from qlosync.sync.locks import try_record_locks
from qlosync.sync.pms_state import pms_state_hash
from qlosync.sync.push_token import is_stop_sell, token_in
from qlosync.sync.sync_log import sync_log

logger = logging.getLogger(__name__)

#: The shop's mappings of these orders, locked: each found by its key (config_id, qloapps_order_id), not by
#: reading every mapping of the shop (what the planner did without statistics, 62 ms a page at 76,000).
_MAPPINGS_OF_ORDERS = text(
    "SELECT m.* FROM " + rows_by_key("qloapps_reservation_mappings", "m", "qloapps_order_id", ":ids", "integer",
                                     scope="config_id = :config")
    + " FOR UPDATE OF m")

Outcome = Literal["created", "updated", "unchanged", "parked", "conflict", "kept_pms", "adopted"]


@dataclass(frozen=True)
class ApplyResult:
    """What applying one booking did."""

    outcome: Outcome
    qloapps_order_id: int
    pms_reservation_id: PmsId | None
    reason: str | None = None


@dataclass
class Catalog:
    """Room-type and room mappings (QloApps id → PMS id) and the shop's PMS hotel, loaded once per run (or per
    booking outside a run)."""

    room_types: dict[int, PmsId] = field(default_factory=dict)
    rooms: dict[int, PmsId] = field(default_factory=dict)
    currencies: Mapping[int, str] = field(default_factory=dict)
    hotel_id: PmsId | None = None  # None: the shop's, looked up when a page is applied

    @classmethod
    def load(cls, session: Session, config_id: int, currencies: Mapping[int, str]) -> Catalog:
        """Raises :class:`qlosync.pms.UnknownHotel` when the shop's hotel is not the PMS's: a pull then fails at
        once, saying how to fix it, instead of failing every booking."""
        pms_hotel_id = session.scalar(select(QloAppsConfig.pms_hotel_id).where(QloAppsConfig.id == config_id))
        hotel = shop_hotel(open_pms(session), pms_hotel_id)
        return cls(room_type_mappings(session, config_id), room_mappings(session, config_id), currencies,
                   hotel.hotel_id)


def apply_snapshot(
    session: Session, shop: ShopConfig, snapshot: BookingSnapshot, catalog: Catalog, *, sync_state_id: int | None = None
) -> ApplyResult:
    """Create, update, park or leave alone the PMS reservation for one QloApps order."""
    return apply_snapshots(session, shop, [snapshot], catalog, sync_state_id=sync_state_id)[0]


@dataclass
class _Pending:
    """A booking on its way into the PMS."""

    snapshot: BookingSnapshot
    data: ReservationData
    digest: str
    mapping: QloAppsReservationMapping | None  # None: a new order, its mapping inserted in bulk
    outcome: Outcome = "updated"
    lines: list[LineData] = field(default_factory=list)  # in the order of the write's lines


def apply_snapshots(
    session: Session,
    shop: ShopConfig,
    snapshots: Sequence[BookingSnapshot],
    catalog: Catalog,
    *,
    sync_state_id: int | None = None,
) -> list[ApplyResult]:
    """Apply a page of bookings with a handful of statements in all, not a dozen per booking.

    Raises on the first booking that cannot be applied (bad data, a busy lock); the caller then applies
    the page one booking per savepoint to isolate it.
    """
    by_id = {snapshot.id: snapshot for snapshot in snapshots}  # an order appears once per page
    order_ids = sorted(by_id)
    if not order_ids:
        return []
    pms = open_pms(session)
    hotel = pms.hotel(catalog.hotel_id) if catalog.hotel_id is not None else shop_hotel(pms, shop.pms_hotel_id)
    pms.mark_sync_writes()
    try_record_locks(session, [("qloapps-order", shop.id, order_id) for order_id in order_ids])
    data = {order_id: map_snapshot(snapshot, catalog.currencies) for order_id, snapshot in by_id.items()}
    # The column allows None (a push's own row before its order exists); this query finds none of those.
    mappings: dict[int | None, QloAppsReservationMapping] = {
        m.qloapps_order_id: m
        for m in session.scalars(select(QloAppsReservationMapping).from_statement(
            _MAPPINGS_OF_ORDERS.bindparams(config=shop.id, ids=order_ids)))
    }
    results: dict[int, ApplyResult] = {}
    mappings.update(_adopt_pushed_orders(session, pms, shop, [by_id[i] for i in order_ids if i not in mappings], results))
    # A push of the same reservation holds this lock for its whole HTTP exchange: retry the booking later.
    try_record_locks(session, [("pms-reservation", m.pms_reservation_id) for m in mappings.values()
                               if m.pms_reservation_id is not None])
    in_conflict = open_conflict_mappings(session, [m.id for m in mappings.values()])
    todo: list[_Pending] = []
    changed: list[_Pending] = []  # QloApps changed them since the last sync: the PMS may have too
    for order_id in order_ids:
        if order_id in results:
            continue
        snapshot, booking = by_id[order_id], data[order_id]
        digest = content_hash(booking)
        mapping = mappings.get(order_id)
        if is_stop_sell(snapshot.order.source):
            results[order_id] = ApplyResult("unchanged", order_id, None, "qlosync's stop-sell booking")
            continue
        if mapping is not None and mapping.origin == Side.PMS and mapping.pms_reservation_id is None:
            results[order_id] = ApplyResult("unchanged", order_id, None, "deleted in the PMS")
            continue
        if mapping is not None and mapping.id in in_conflict:
            results[order_id] = ApplyResult("conflict", order_id, mapping.pms_reservation_id, "open conflict")
            continue
        if mapping is not None and mapping.qloapps_date_upd is not None \
                and snapshot.order.date_upd < mapping.qloapps_date_upd:
            # Read before a push that has since committed a newer version: applying it would undo the push.
            results[order_id] = ApplyResult("unchanged", order_id, mapping.pms_reservation_id, "stale snapshot")
            continue
        if mapping is not None and mapping.qloapps_hash == digest and mapping.parked_reason is None \
                and mapping.pms_reservation_id is not None:
            if mapping.qloapps_date_upd != snapshot.order.date_upd:
                mapping.qloapps_date_upd = snapshot.order.date_upd
            results[order_id] = ApplyResult("unchanged", order_id, mapping.pms_reservation_id)
            continue
        if mapping is not None and mapping.pms_reservation_id is not None and mapping.parked_reason is None:
            changed.append(_Pending(snapshot, booking, digest, mapping))
            continue
        missing = sorted({line.qloapps_room_type_id for line in booking.lines} - catalog.room_types.keys())
        if missing:
            if mapping is None:
                mapping = QloAppsReservationMapping(config_id=shop.id, qloapps_order_id=order_id, origin=Side.QLOAPPS)
                session.add(mapping)
            results[order_id] = _park(session, shop, mapping, snapshot, missing, sync_state_id)
            continue
        todo.append(_Pending(snapshot, booking, digest, mapping))
    # One read of the reservations the page may overwrite: to settle conflicts and to reconcile their lines.
    states = hotel.reservation_states([p.mapping.pms_reservation_id for p in (*changed, *todo)
                                       if p.mapping is not None and p.mapping.pms_reservation_id is not None])
    for pending, result in _settle_conflicts(session, pms, shop, changed, states, sync_state_id):
        if result is None:
            todo.append(pending)
        else:
            results[result.qloapps_order_id] = result
    if todo:
        for result in _write_bookings(session, hotel, shop, todo, catalog, states, sync_state_id):
            results[result.qloapps_order_id] = result
    session.flush()
    return [results[snapshot.id] for snapshot in snapshots]


def _park(session: Session, shop: ShopConfig, mapping: QloAppsReservationMapping, snapshot: BookingSnapshot,
          missing: list[int], sync_state_id: int | None) -> ApplyResult:
    reason = f"QloApps room type(s) {', '.join(map(str, missing))} not mapped to a PMS room type"
    if mapping.parked_reason != reason:
        sync_log(session, shop, LogLevel.WARNING, snapshot.id, "parked", reason, sync_state_id, room_types=missing)
    mapping.parked_reason = reason
    mapping.qloapps_date_upd = snapshot.order.date_upd
    return ApplyResult("parked", snapshot.id, mapping.pms_reservation_id, reason)


def _reservation_write(reservation_id: PmsId | None, data: ReservationData, guest_id: PmsId,
                       lines: Sequence[LineWrite]) -> ReservationWrite:
    """The one place a PMS reservation is built from a QloApps booking (creates and overwrites alike)."""
    return ReservationWrite(
        id=reservation_id, guest_id=guest_id, status=data.status, source=data.source, currency=data.currency,
        total_without_tax=data.total_without_tax, total_tax=data.total_tax, total_paid=data.total_paid,
        # QloApps' dates are its server's clock, read as UTC (as everywhere in qlosync).
        booked_at=data.booked_at.replace(tzinfo=UTC),
        remarks=f"QloApps order {data.qloapps_order_id} ({data.reference})",
        lines=tuple(lines),
    )


def _write_bookings(session: Session, hotel: HotelPms, shop: ShopConfig, todo: list[_Pending], catalog: Catalog,
                    states: Mapping[PmsId, PmsState], sync_state_id: int | None) -> list[ApplyResult]:
    """Guests, reservations, then qlosync's mappings and log rows: a round trip per table for the whole page."""
    guests = GuestIndex.load(session, hotel, shop.id, [p.data.guest for p in todo])
    # The page's order: a new customer's first booking decides, later ones share its guest.
    matches = {p.snapshot.id: guests.match(p.data.guest) for p in todo}
    guests.save()  # new guests get their ids

    def state_of(pending: _Pending) -> PmsState | None:
        reservation_id = pending.mapping.pms_reservation_id if pending.mapping is not None else None
        return states.get(reservation_id) if reservation_id is not None else None

    known_lines = _line_mappings(session, shop.id, [p.snapshot.id for p in todo if state_of(p) is not None])
    writes = []
    for pending in todo:
        state = state_of(pending)
        if state is None:
            pending.outcome = "created"  # a new order, a parked one, or its reservation is gone
        pairs = _reconcile_lines(state, pending.data, catalog, known_lines.get(pending.snapshot.id, {}))
        pending.lines = [line for line, _ in pairs]
        writes.append(_reservation_write(state.reservation_id if state else None, pending.data,
                                         _guest_id(matches[pending.snapshot.id]), [w for _, w in pairs]))
    if known_lines:
        session.execute(delete(QloAppsRoomLineMapping).where(
            QloAppsRoomLineMapping.config_id == shop.id, QloAppsRoomLineMapping.qloapps_order_id.in_(known_lines)))
    written = hotel.write_reservations(writes)
    return _record(session, shop, todo, written, matches, sync_state_id)


def _guest_id(match: GuestMatch) -> PmsId:
    if match.guest.id is None:
        raise AssertionError("the guests of the page are saved before its reservations")
    return match.guest.id


_INSERT_LINE_MAPPING = (
    "INSERT INTO qloapps_room_line_mappings (config_id, qloapps_order_id, qloapps_room_booking_id,"
    " pms_reservation_line_id) VALUES (%s, %s, %s, %s)"
)
_INSERT_MAPPING = (
    "INSERT INTO qloapps_reservation_mappings (config_id, qloapps_order_id, pms_reservation_id, origin, qloapps_hash,"
    " pms_hash, qloapps_date_upd, last_synced_at) VALUES (%s, %s, %s, 'qloapps', %s, %s, %s, %s)"
)
_INSERT_LOG = (
    "INSERT INTO qloapps_sync_logs (config_id, sync_state_id, level, entity_type, entity_id, action, reason, details)"
    " VALUES (%s, %s, %s, 'booking', %s, %s, %s, %s)"
)


def _record(session: Session, shop: ShopConfig, todo: Sequence[_Pending], written: Sequence[PmsState],
            matches: Mapping[int, GuestMatch], sync_state_id: int | None) -> list[ApplyResult]:
    """qlosync's side of what was written: mappings (both hashes), line mappings and the operator log.

    New orders' mappings, every line mapping and every log row go in as pipelined multi-row writes; mappings
    that exist are ORM rows already loaded (and locked) by the page.
    """
    now = datetime.now(UTC)
    new_mappings: list[tuple[object, ...]] = []
    line_rows: list[tuple[object, ...]] = []
    log_rows: list[tuple[object, ...]] = []
    results: list[ApplyResult] = []
    for pending, state in zip(todo, written, strict=True):
        order_id, match, mapping = pending.snapshot.id, matches[pending.snapshot.id], pending.mapping
        pms_hash = pms_state_hash(state)
        if mapping is None:
            new_mappings.append((shop.id, order_id, state.reservation_id, pending.digest, pms_hash,
                                 pending.snapshot.order.date_upd, now))
        else:
            mapping.pms_reservation_id = state.reservation_id
            mapping.qloapps_hash = pending.digest
            mapping.pms_hash = pms_hash
            mapping.qloapps_date_upd = pending.snapshot.order.date_upd
            mapping.parked_reason = None
            mapping.last_synced_at = now
        line_rows.extend((shop.id, order_id, line.qloapps_room_booking_id, pms_line.id)
                         for line, pms_line in zip(pending.lines, state.lines, strict=True))
        guest_decision: dict[str, Any] = (
            {"guest_match": match.method, "qloapps_customer_id": pending.data.guest.qloapps_customer_id,
             "pms_guest_id": match.guest.id}
            if match.new_mapping
            else {}
        )
        log_rows.append((shop.id, sync_state_id, LogLevel.INFO, str(order_id), pending.outcome, match.note,
                         Jsonb({"pms_reservation_id": state.reservation_id, "status": pending.data.status,
                                **guest_decision})))
        logger.debug("Booking %s %s as reservation %s.", order_id, pending.outcome, state.reservation_id,
                     extra={"action": "import_booking", "qloapps_order_id": order_id,
                            "pms_reservation_id": state.reservation_id})
        results.append(ApplyResult(pending.outcome, order_id, state.reservation_id))
    with raw_cursor(session) as cursor:  # flushes the mappings changed above first
        if new_mappings:
            cursor.executemany(_INSERT_MAPPING, new_mappings)
        if line_rows:
            cursor.executemany(_INSERT_LINE_MAPPING, line_rows)
        cursor.executemany(_INSERT_LOG, log_rows)
    return results


def _adopt_pushed_orders(session: Session, pms: Pms, shop: ShopConfig, snapshots: Sequence[BookingSnapshot],
                         results: dict[int, ApplyResult]) -> dict[int | None, QloAppsReservationMapping]:
    """Orders a push created but did not record (its worker died after the POST): link, never import twice."""
    tokens = {token: snapshot for snapshot in snapshots if (token := token_in(snapshot.order.source))}
    if not tokens:
        return {}
    adopted: dict[int | None, QloAppsReservationMapping] = {}
    for mapping in session.scalars(select(QloAppsReservationMapping).where(
            QloAppsReservationMapping.config_id == shop.id, QloAppsReservationMapping.push_token.in_(list(tokens)),
            QloAppsReservationMapping.qloapps_order_id.is_(None)).with_for_update()):
        snapshot = tokens[mapping.push_token or ""]
        mapping.qloapps_order_id = snapshot.id
        mapping.qloapps_date_upd = snapshot.order.date_upd
        if mapping.pms_reservation_id is not None:
            pms.changes.request_push(mapping.pms_reservation_id, f"adopted QloApps order {snapshot.id}")
        sync_log(session, shop, LogLevel.INFO, snapshot.id, "adopted", "order created by a push that did not record it",
                 pms_reservation_id=mapping.pms_reservation_id)
        results[snapshot.id] = ApplyResult("adopted", snapshot.id, mapping.pms_reservation_id)
        adopted[snapshot.id] = mapping
    return adopted


def _settle_conflicts(session: Session, pms: Pms, shop: ShopConfig, changed: list[_Pending],
                      states: Mapping[PmsId, PmsState],
                      sync_state_id: int | None) -> list[tuple[_Pending, ApplyResult | None]]:
    """For bookings QloApps changed: None to apply them, or the result when the PMS changed too and wins or waits.

    A mapping whose pms_hash equals its qloapps_hash predates PMS-side hashing: its PMS side counts as unchanged.
    """
    out: list[tuple[_Pending, ApplyResult | None]] = []
    for pending in changed:
        order_id, mapping = pending.snapshot.id, pending.mapping
        assert mapping is not None and mapping.pms_reservation_id is not None
        state = states.get(mapping.pms_reservation_id)
        if state is None or mapping.pms_hash in (None, mapping.qloapps_hash) or pms_state_hash(state) == mapping.pms_hash:
            out.append((pending, None))
            continue
        assert state.changed_at is not None
        side = winner(shop.conflict_strategy, state.changed_at, pending.snapshot.order.date_upd)
        if side == Side.QLOAPPS:
            sync_log(session, shop, LogLevel.WARNING, order_id, "conflict_qloapps_wins", "changed on both sides",
                     sync_state_id, pms_reservation_id=state.reservation_id, strategy=shop.conflict_strategy)
            out.append((pending, None))
        elif side == Side.PMS:
            mapping.qloapps_hash, mapping.qloapps_date_upd = pending.digest, pending.snapshot.order.date_upd
            pms.changes.request_push(state.reservation_id, "conflict: the PMS version wins")
            sync_log(session, shop, LogLevel.WARNING, order_id, "conflict_pms_wins", "changed on both sides",
                     sync_state_id, pms_reservation_id=state.reservation_id, strategy=shop.conflict_strategy)
            out.append((pending, ApplyResult("kept_pms", order_id, state.reservation_id)))
        else:
            conflict = record_conflict(session, mapping, detected_by="pull", pms_changed_at=state.changed_at,
                                       qloapps_changed_at=pending.snapshot.order.date_upd,
                                       details={"qloapps_status": pending.data.status, "pms_status": state.status})
            sync_log(session, shop, LogLevel.WARNING, order_id, "conflict", f"changed on both sides: conflict {conflict.id}",
                     sync_state_id, pms_reservation_id=state.reservation_id)
            out.append((pending, ApplyResult("conflict", order_id, state.reservation_id, f"conflict {conflict.id}")))
    return out


#: The same for the room line mappings (index on config_id, qloapps_order_id).
_LINE_MAPPINGS_OF_ORDERS = text(
    "SELECT l.qloapps_order_id, l.qloapps_room_booking_id, l.pms_reservation_line_id FROM "
    + rows_by_key("qloapps_room_line_mappings", "l", "qloapps_order_id", ":ids", "integer", scope="config_id = :config"))


def _line_mappings(session: Session, config_id: int, order_ids: list[int]) -> dict[int, dict[int, PmsId]]:
    """order id → {QloApps room line id → PMS line id} for reservations that already exist."""
    known: dict[int, dict[int, PmsId]] = {}
    if order_ids:
        for order_id, line_id, pms_line_id in session.execute(_LINE_MAPPINGS_OF_ORDERS.bindparams(
                config=config_id, ids=order_ids)):
            known.setdefault(order_id, {})[line_id] = pms_line_id
    return known


def _reconcile_lines(state: PmsState | None, data: ReservationData, catalog: Catalog,
                     known: Mapping[int, PmsId]) -> list[tuple[LineData, LineWrite]]:
    """Match QloApps room lines to PMS lines so that renumbered QloApps lines overwrite the same PMS lines.

    First by the recorded QloApps line id; then, for lines QloApps renumbered (date or room type change,
    B24), the remaining PMS line of the same room type (same dates first, then in the PMS's order); the
    rest are added (a write line without id) or removed (left out of the write).
    """
    free: dict[PmsId, LineState] = {line.id: line for line in state.lines} if state is not None else {}
    pairs: list[tuple[LineData, LineState | None]] = []
    pending: list[LineData] = []
    for line in data.lines:
        pms_line_id = known.get(line.qloapps_room_booking_id)
        pms_line = free.pop(pms_line_id, None) if pms_line_id is not None else None
        if pms_line is None:
            pending.append(line)
        else:
            pairs.append((line, pms_line))
    for line in pending:
        room_type_id = catalog.room_types[line.qloapps_room_type_id]
        same_type = [p for p in free.values() if p.room_type_id == room_type_id]
        same_type.sort(key=lambda p: p.checkin != line.checkin or p.checkout != line.checkout)  # stable
        pairs.append((line, free.pop(same_type[0].id) if same_type else None))
    return [(line, LineWrite(
        id=existing.id if existing is not None else None,
        room_type_id=catalog.room_types[line.qloapps_room_type_id], room_id=catalog.rooms.get(line.qloapps_room_id),
        checkin=line.checkin, checkout=line.checkout, adults=line.adults, children=line.children,
        child_ages=line.child_ages, price_without_tax=line.price_without_tax, tax=line.tax,
    )) for line, existing in pairs]
