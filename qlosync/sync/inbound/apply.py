"""Apply QloApps bookings to the PMS: idempotent upserts keyed by the QloApps order id.

``apply_snapshots`` (a page) and ``apply_snapshot`` (one booking, the same code) are the only writers of
inbound reservations. They compare the content hash of what they would write with the hash stored in
the reservation mapping, so applying the same booking twice writes nothing, and a booking that qlosync
itself pushed (whose hash the outbound side stored) is a no-op.

Writes are made under ``qlosync.origin = 'qloapps'`` (transaction-local), so the PMS change-capture
triggers do not echo them back to QloApps. A booking whose PMS reservation also changed since the last
sync is settled by the shop's conflict strategy (``_settle_conflicts``); an order that a push created
but did not record (its token is in the order's source) is linked, never imported twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, selectinload

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomLineMapping
from qlosync.pms.builtin.tables import PmsGuest, PmsReservation, PmsReservationLine
from qlosync.qloapps.models import BookingSnapshot
from qlosync.sync.inbound.catalog import room_mappings, room_type_mappings
from qlosync.sync.inbound.guests import GuestIndex, GuestMatch, update_guest_details
from qlosync.sync.locks import try_record_locks
from qlosync.sync.conflicts import open_conflict_mappings, record_conflict, winner
from qlosync.sync.inbound.mapper import LineData, ReservationData, content_hash, map_snapshot
from qlosync.sync.pms_state import pms_state_hash, state_of
from qlosync.sync.outbox import request_push
from qlosync.sync.push_token import is_stop_sell, token_in
from qlosync.sync.sync_log import sync_log
from qlosync.states import LogLevel, Side

logger = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged", "parked", "conflict", "kept_pms", "adopted"]


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


def apply_snapshot(
    session: Session, shop: ShopConfig, snapshot: BookingSnapshot, catalog: Catalog, *, sync_state_id: int | None = None
) -> ApplyResult:
    """Create, update, park or leave alone the PMS reservation for one QloApps order."""
    return apply_snapshots(session, shop, [snapshot], catalog, sync_state_id=sync_state_id)[0]


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
    mark_inbound_writes(session)
    try_record_locks(session, [("qloapps-order", shop.id, order_id) for order_id in order_ids])
    data = {order_id: map_snapshot(snapshot, catalog.currencies) for order_id, snapshot in by_id.items()}
    # The column allows None (a push's own row before its order exists); this query finds none of those.
    mappings: dict[int | None, QloAppsReservationMapping] = {
        m.qloapps_order_id: m
        for m in session.scalars(
            select(QloAppsReservationMapping)
            .where(QloAppsReservationMapping.config_id == shop.id, QloAppsReservationMapping.qloapps_order_id.in_(order_ids))
            .with_for_update()
        )
    }
    results: dict[int, ApplyResult] = {}
    mappings.update(_adopt_pushed_orders(session, shop, [by_id[i] for i in order_ids if i not in mappings], results))
    # A push of the same reservation holds this lock for its whole HTTP exchange: retry the booking later.
    try_record_locks(session, [("pms-reservation", m.pms_reservation_id) for m in mappings.values()
                               if m.pms_reservation_id is not None])
    in_conflict = open_conflict_mappings(session, [m.id for m in mappings.values()])
    todo: list[_Pending] = []
    changed: list[tuple[_Pending, QloAppsReservationMapping]] = []  # with the mapping they change
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
            changed.append((_Pending(snapshot, booking, digest, mapping), mapping))
            continue
        missing = sorted({line.qloapps_room_type_id for line in booking.lines} - catalog.room_types.keys())
        if missing:
            if mapping is None:
                mapping = QloAppsReservationMapping(config_id=shop.id, qloapps_order_id=order_id, origin=Side.QLOAPPS)
                session.add(mapping)
            results[order_id] = _park(session, shop, mapping, snapshot, missing, sync_state_id)
            continue
        # A new order (mapping None) is written by plain multi-row statements, not ORM objects (_insert_new).
        todo.append(_Pending(snapshot, booking, digest, mapping))
    for pending, result in _settle_conflicts(session, shop, changed, sync_state_id):
        if result is None:
            todo.append(pending)
        else:
            results[result.qloapps_order_id] = result
    if todo:
        for result in _write_bookings(session, shop, todo, catalog, sync_state_id):
            results[result.qloapps_order_id] = result
    session.flush()
    return [results[snapshot.id] for snapshot in snapshots]


@dataclass
class _Pending:
    """A booking on its way into the PMS."""

    snapshot: BookingSnapshot
    data: ReservationData
    digest: str
    mapping: QloAppsReservationMapping | None  # None: a new order, inserted in bulk
    reservation: PmsReservation | None = None
    outcome: Outcome = "updated"
    lines: list[tuple[LineData, PmsReservationLine]] = field(default_factory=list)


def _park(session: Session, shop: ShopConfig, mapping: QloAppsReservationMapping, snapshot: BookingSnapshot,
          missing: list[int], sync_state_id: int | None) -> ApplyResult:
    reason = f"QloApps room type(s) {', '.join(map(str, missing))} not mapped to a PMS room type"
    if mapping.parked_reason != reason:
        sync_log(session, shop, LogLevel.WARNING, snapshot.id, "parked", reason, sync_state_id, room_types=missing)
    mapping.parked_reason = reason
    mapping.qloapps_date_upd = snapshot.order.date_upd
    return ApplyResult("parked", snapshot.id, mapping.pms_reservation_id, reason)


def _write_bookings(session: Session, shop: ShopConfig, todo: list[_Pending], catalog: Catalog,
                    sync_state_id: int | None) -> list[ApplyResult]:
    guests = GuestIndex.load(session, shop.id, [p.data.guest for p in todo])
    in_order, fresh = todo, [p for p in todo if p.mapping is None]
    todo = [p for p in todo if p.mapping is not None]
    reservation_ids = [p.mapping.pms_reservation_id for p in todo if p.mapping and p.mapping.pms_reservation_id]
    existing = {
        r.id: r
        for r in session.scalars(
            select(PmsReservation).options(selectinload(PmsReservation.lines)).where(PmsReservation.id.in_(reservation_ids))
        )
    } if reservation_ids else {}
    known_lines = _line_mappings(session, shop.id, [p.snapshot.id for p in todo
                                                    if p.mapping and p.mapping.pms_reservation_id in existing])
    matches = {}
    for pending in in_order:  # the page's order: a new customer's first booking decides, later ones share it
        match = guests.match(pending.data.guest)
        update_guest_details(match.guest, pending.data.guest, match.method)
        matches[pending.snapshot.id] = match
    session.flush()  # new guests get their ids
    guests.add_new_mappings()
    results = _insert_new(session, shop, fresh, catalog, matches, sync_state_id) if fresh else []
    if not todo:
        return results
    for pending in todo:
        assert pending.mapping is not None
        reservation = existing.get(pending.mapping.pms_reservation_id or -1)
        if reservation is None:
            reservation = PmsReservation(lines=[])
            session.add(reservation)
            pending.outcome = "created"
        pending.reservation = reservation
        _write_reservation(reservation, pending.data, matches[pending.snapshot.id].guest.id)
        pending.lines = _reconcile_lines(reservation, pending.data, catalog, known_lines.get(pending.snapshot.id, {}))
    if known_lines:
        session.execute(
            delete(QloAppsRoomLineMapping).where(
                QloAppsRoomLineMapping.config_id == shop.id, QloAppsRoomLineMapping.qloapps_order_id.in_(known_lines)
            )
        )
    session.flush()  # reservations and lines get their ids
    now = datetime.now(UTC)
    for pending in todo:
        order_id, reservation, mapping = pending.snapshot.id, pending.reservation, pending.mapping
        assert reservation is not None and mapping is not None
        session.add_all(
            QloAppsRoomLineMapping(config_id=shop.id, qloapps_order_id=order_id,
                                   qloapps_room_booking_id=line.qloapps_room_booking_id,
                                   pms_reservation_line_id=pms_line.id)
            for line, pms_line in pending.lines
        )
        mapping.pms_reservation_id = reservation.id
        mapping.qloapps_hash = pending.digest
        mapping.pms_hash = pms_state_hash(state_of(reservation, matches[order_id].guest, with_changed_at=False))
        mapping.qloapps_date_upd = pending.snapshot.order.date_upd
        mapping.parked_reason = None
        mapping.last_synced_at = now
        match = matches[order_id]
        guest_decision: dict[str, Any] = (
            {"guest_match": match.method, "qloapps_customer_id": pending.data.guest.qloapps_customer_id,
             "pms_guest_id": match.guest.id}
            if match.new_mapping
            else {}
        )
        sync_log(session, shop, LogLevel.INFO, order_id, pending.outcome, match.note, sync_state_id,
                 pms_reservation_id=reservation.id, status=pending.data.status, **guest_decision)
        logger.debug("Booking %s %s as reservation %s.", order_id, pending.outcome, reservation.id,
                     extra={"action": "import_booking", "qloapps_order_id": order_id, "pms_reservation_id": reservation.id})
        results.append(ApplyResult(pending.outcome, order_id, reservation.id))
    return results


_INSERT_RESERVATION = (
    "INSERT INTO pms_reservations (guest_id, status, source, currency, total_without_tax, total_tax, total_paid,"
    " booked_at, remarks) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
_INSERT_LINE = (
    "INSERT INTO pms_reservation_lines (reservation_id, room_type_id, room_id, checkin, checkout, adults, children,"
    " child_ages, price_without_tax, tax) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
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


def _returned_ids(cursor: psycopg.Cursor[Any]) -> list[int]:
    ids: list[int] = []
    while True:
        row = cursor.fetchone()
        if row is not None:
            ids.append(row[0])
        if not cursor.nextset():
            return ids


def _insert_new(session: Session, shop: ShopConfig, fresh: list[_Pending], catalog: Catalog,
                matches: Mapping[int, GuestMatch], sync_state_id: int | None) -> list[ApplyResult]:
    """Orders never seen before: reservation, lines, mappings and log rows, one pipelined executemany each.

    The ORM's unit of work cost more than the database for these (an object, identity-map entry and
    attribute events per row, and multi-row INSERT texts psycopg parses anew every time); the rows are
    the same as the ORM path writes, in the same transaction (the ORM's pending changes are flushed first).
    """
    session.flush()
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"the pipelined inserts need a psycopg 3 connection, not {type(driver).__name__}")
    cursor = driver.cursor()
    try:
        cursor.executemany(_INSERT_RESERVATION, [
            (matches[p.snapshot.id].guest.id, p.data.status, p.data.source, p.data.currency, p.data.total_without_tax,
             p.data.total_tax, p.data.total_paid, p.data.booked_at.replace(tzinfo=UTC),
             f"QloApps order {p.data.qloapps_order_id} ({p.data.reference})") for p in fresh
        ], returning=True)
        reservation_ids = _returned_ids(cursor)
        lines = [(reservation_id, p, line) for p, reservation_id in zip(fresh, reservation_ids, strict=True)
                 for line in p.data.lines]
        cursor.executemany(_INSERT_LINE, [
            (reservation_id, catalog.room_types[line.qloapps_room_type_id], catalog.rooms.get(line.qloapps_room_id),
             line.checkin, line.checkout, line.adults, line.children, Jsonb(list(line.child_ages)),
             line.price_without_tax, line.tax) for reservation_id, p, line in lines
        ], returning=True)
        line_ids = _returned_ids(cursor)
        cursor.executemany(_INSERT_LINE_MAPPING, [
            (shop.id, p.snapshot.id, line.qloapps_room_booking_id, line_id)
            for (_, p, line), line_id in zip(lines, line_ids, strict=True)
        ])
        pms_lines: dict[int, list[SimpleNamespace]] = {}
        for (reservation_id, _, line), line_id in zip(lines, line_ids, strict=True):
            pms_lines.setdefault(reservation_id, []).append(SimpleNamespace(
                id=line_id, room_type_id=catalog.room_types[line.qloapps_room_type_id],
                room_id=catalog.rooms.get(line.qloapps_room_id), checkin=line.checkin, checkout=line.checkout,
                adults=line.adults, children=line.children, child_ages=list(line.child_ages),
                price_without_tax=line.price_without_tax))
        now = datetime.now(UTC)
        mapping_rows, log_rows, results = [], [], []
        for pending, reservation_id in zip(fresh, reservation_ids, strict=True):
            order_id, data, match = pending.snapshot.id, pending.data, matches[pending.snapshot.id]
            # The same PMS view as state_of() of ORM rows gives (what the outbound side compares).
            view = SimpleNamespace(id=reservation_id, status=data.status, source=data.source, total_paid=data.total_paid,
                                   lines=pms_lines.get(reservation_id, []))
            pms_hash = pms_state_hash(state_of(view, match.guest, with_changed_at=False))  # type: ignore[arg-type]
            mapping_rows.append((shop.id, order_id, reservation_id, pending.digest, pms_hash,
                                 pending.snapshot.order.date_upd, now))
            guest_decision: dict[str, Any] = (
                {"guest_match": match.method, "qloapps_customer_id": data.guest.qloapps_customer_id,
                 "pms_guest_id": match.guest.id}
                if match.new_mapping
                else {}
            )
            log_rows.append((shop.id, sync_state_id, LogLevel.INFO, str(order_id), "created", match.note,
                             Jsonb({"pms_reservation_id": reservation_id, "status": data.status, **guest_decision})))
            results.append(ApplyResult("created", order_id, reservation_id))
        cursor.executemany(_INSERT_MAPPING, mapping_rows)
        cursor.executemany(_INSERT_LOG, log_rows)
    finally:
        cursor.close()
    return results


def mark_inbound_writes(session: Session) -> None:
    """Tell the change-capture triggers that this transaction's PMS writes come from QloApps: no echo."""
    session.execute(text("SELECT set_config('qlosync.origin', 'qloapps', true)"))


def _adopt_pushed_orders(session: Session, shop: ShopConfig, snapshots: Sequence[BookingSnapshot],
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
            request_push(session, mapping.pms_reservation_id, f"adopted QloApps order {snapshot.id}")
        sync_log(session, shop, LogLevel.INFO, snapshot.id, "adopted", "order created by a push that did not record it",
                 pms_reservation_id=mapping.pms_reservation_id)
        results[snapshot.id] = ApplyResult("adopted", snapshot.id, mapping.pms_reservation_id)
        adopted[snapshot.id] = mapping
    return adopted


def _settle_conflicts(session: Session, shop: ShopConfig, changed: list[tuple[_Pending, QloAppsReservationMapping]],
                      sync_state_id: int | None) -> list[tuple[_Pending, ApplyResult | None]]:
    """For bookings QloApps changed: None to apply them, or the result when the PMS changed too and wins or waits.

    A mapping whose pms_hash equals its qloapps_hash predates PMS-side hashing: its PMS side counts as unchanged.
    """
    if not changed:
        return []
    reservation_ids = [mapping.pms_reservation_id for _, mapping in changed]
    reservations = {r.id: r for r in session.scalars(select(PmsReservation).options(selectinload(PmsReservation.lines))
                                                     .where(PmsReservation.id.in_(reservation_ids)))}
    guests = {g.id: g for g in session.scalars(select(PmsGuest).where(
        PmsGuest.id.in_({r.guest_id for r in reservations.values()})))}
    out: list[tuple[_Pending, ApplyResult | None]] = []
    for pending, mapping in changed:
        order_id = pending.snapshot.id
        reservation = reservations.get(mapping.pms_reservation_id or -1)
        if reservation is None or mapping.pms_hash in (None, mapping.qloapps_hash):
            out.append((pending, None))
            continue
        state = state_of(reservation, guests[reservation.guest_id])
        if pms_state_hash(state) == mapping.pms_hash:
            out.append((pending, None))
            continue
        assert state.changed_at is not None
        side = winner(shop.conflict_strategy, state.changed_at, pending.snapshot.order.date_upd)
        if side == Side.QLOAPPS:
            sync_log(session, shop, LogLevel.WARNING, order_id, "conflict_qloapps_wins", "changed on both sides",
                     sync_state_id, pms_reservation_id=reservation.id, strategy=shop.conflict_strategy)
            out.append((pending, None))
        elif side == Side.PMS:
            mapping.qloapps_hash, mapping.qloapps_date_upd = pending.digest, pending.snapshot.order.date_upd
            request_push(session, reservation.id, "conflict: the PMS version wins")
            sync_log(session, shop, LogLevel.WARNING, order_id, "conflict_pms_wins", "changed on both sides",
                     sync_state_id, pms_reservation_id=reservation.id, strategy=shop.conflict_strategy)
            out.append((pending, ApplyResult("kept_pms", order_id, reservation.id)))
        else:
            conflict = record_conflict(session, mapping, detected_by="pull", pms_changed_at=state.changed_at,
                                       qloapps_changed_at=pending.snapshot.order.date_upd,
                                       details={"qloapps_status": pending.data.status, "pms_status": state.status})
            sync_log(session, shop, LogLevel.WARNING, order_id, "conflict", f"changed on both sides: conflict {conflict.id}",
                     sync_state_id, pms_reservation_id=reservation.id)
            out.append((pending, ApplyResult("conflict", order_id, reservation.id, f"conflict {conflict.id}")))
    return out


def _line_mappings(session: Session, config_id: int, order_ids: list[int]) -> dict[int, dict[int, int]]:
    """order id → {QloApps room line id → PMS line id} for reservations that already exist."""
    known: dict[int, dict[int, int]] = {}
    if order_ids:
        for m in session.scalars(select(QloAppsRoomLineMapping).where(
                QloAppsRoomLineMapping.config_id == config_id, QloAppsRoomLineMapping.qloapps_order_id.in_(order_ids))):
            known.setdefault(m.qloapps_order_id, {})[m.qloapps_room_booking_id] = m.pms_reservation_line_id
    return known


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
    reservation: PmsReservation, data: ReservationData, catalog: Catalog, known: dict[int, int]
) -> list[tuple[LineData, PmsReservationLine]]:
    """Match QloApps room lines to PMS lines so that renumbered QloApps lines update the same PMS rows.

    First by the recorded QloApps line id; then, for lines QloApps renumbered (date or room type change,
    B24), the remaining PMS line of the same room type (same dates first); the rest are added or removed.
    """
    free = {line.id: line for line in reservation.lines}
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
        pairs.append((line, free.pop(same_type[0].id) if same_type else None))
    for leftover in free.values():
        reservation.lines.remove(leftover)

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
    return resolved
