"""Push one PMS reservation to QloApps: create, update, cancel, or nothing, exactly once.

``push_reservation`` holds a per-reservation lock for the whole exchange (the inbound apply of the same
reservation backs off meanwhile), reads the reservation as it is now, and then:

* not in QloApps yet: reconcile an earlier attempt (its token in the order's ``source``); if none, commit
  the intent (token, time) and POST every line;
* in QloApps and changed since the last push (PMS-side hash): one GET of the order tells whether QloApps
  changed too; if both did, the shop's conflict strategy decides; then PUT the whole booking (B23), or
  cancel/refund with QloApps' own room list (B26);
* unchanged: no request.

After a write it reads the order back (one GET; the room lines and the customer come with the write's own
answer when it shows all they hold, else they are read too: see ``read_back``) and records both sides' hashes, the room-line and customer mappings, so
the next pull and the next push find nothing to do.
Anything QloApps could not take (an occupancy change, B25; a customer name it must not rename, B17) is
written to the sync log, never dropped silently.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import (
    QloAppsCustomerMapping,
    QloAppsReservationMapping,
    QloAppsRoomLineMapping,
    QloAppsRoomMapping,
    QloAppsRoomTypeMapping,
    QloAppsStopSellBlock,
)
from qlosync.db.session import transaction
from qlosync.errors import PermanentError
from qlosync.pms import HotelPms, open_pms, shop_hotel
from qlosync.pms.port import LineState, PmsId, PmsState, RoomType
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.errors import QloAppsInvalidRequest, QloAppsValidationError
from qlosync.qloapps.models import (
    STATE_CANCELLED,
    STATE_REFUNDED,
    Booking,
    BookingSnapshot,
    Customer,
    Order,
    RoomBooking,
)
from qlosync.settings import Settings
from qlosync.states import LogLevel, PushAction, ReservationStatus, Side
from qlosync.sync.ari.availability import push_availability
from qlosync.sync.conflicts import open_conflict_mappings, record_conflict, winner
from qlosync.sync.outbound.customers import CustomerChoice, choose_customer, placeholder_email
from qlosync.sync.inbound.apply import Catalog, apply_snapshot
from qlosync.sync.locks import held_lock
from qlosync.sync.inbound.mapper import ORDER_STATE_TO_STATUS, content_hash, map_snapshot
from qlosync.sync.outbound.mapper import PushRejected, booking_request, validate
from qlosync.sync.outbound.read_back import read_back
from qlosync.sync.pms_state import pms_state_hash
from qlosync.sync.push_token import new_token
from qlosync.sync.sync_log import sync_log
from qlosync.sync.currencies import ShopCurrencies
from qlosync.sync.create_once import DEFAULT_SETTLE_WINDOW, earlier_create, settle_window_of

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PushOptions:
    # A create whose outcome is unknown is sent again only after this long without finding its order
    # (qlosync.sync.create_once).
    settle_after: timedelta = DEFAULT_SETTLE_WINDOW
    lock_timeout_s: float = 15.0
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())

    @classmethod
    def from_settings(cls, settings: Settings) -> PushOptions:
        return cls(settle_after=settle_window_of(settings))


@dataclass
class PushDeps:
    """What a push needs, passed explicitly so tests can call it without a broker."""

    engine: Engine
    client: QloAppsClient
    shop: ShopConfig
    options: PushOptions = field(default_factory=PushOptions)
    _currencies: ShopCurrencies | None = None

    def currencies(self) -> ShopCurrencies:
        if self._currencies is None:
            self._currencies = ShopCurrencies(self.client, self.shop)
        return self._currencies


@dataclass(frozen=True)
class PushResult:
    """What a push did, and in which QloApps order."""

    action: PushAction
    reservation_id: PmsId
    qloapps_order_id: int | None = None
    requests: int = 0
    note: str | None = None


@dataclass(frozen=True)
class _Known:
    """The reservation mapping as it was when the push started."""

    id: int | None = None
    qloapps_order_id: int | None = None
    push_token: str | None = None
    push_attempted_at: datetime | None = None
    qloapps_hash: str | None = None
    pms_hash: str | None = None
    qloapps_date_upd: datetime | None = None
    push_error: str | None = None
    in_conflict: bool = False


@dataclass(frozen=True)
class _Context:
    state: PmsState
    known: _Known
    digest: str
    room_types: dict[PmsId, int]  # PMS room type -> QloApps room type
    rooms: dict[PmsId, int]  # PMS room -> QloApps room
    limits: dict[PmsId, RoomType]
    pushed_line_ids: frozenset[PmsId]


def hotel_of(session: Session, shop: ShopConfig) -> HotelPms:
    """The PMS hotel the shop syncs: what a push reads its reservations from."""
    return shop_hotel(open_pms(session), shop.pms_hotel_id)


def current_state(session: Session, hotel: HotelPms, shop: ShopConfig, reservation_id: PmsId) -> PmsState | None:
    """The reservation as the shop's PMS hotel has it now; None once the PMS has none with that id.

    A reservation of another hotel is refused: pushed here, it would sell the other hotel's rooms.
    """
    state = hotel.reservation_states([reservation_id]).get(reservation_id)
    if state is None:
        elsewhere = open_pms(session).hotels_of_reservations([reservation_id]).get(reservation_id)
        if elsewhere is not None:
            raise PushRejected(f"reservation {reservation_id} is in PMS hotel {elsewhere}, not in hotel "
                               f"{hotel.hotel_id} that QloApps shop {shop.name!r} syncs")
    return state


def push_reservation(deps: PushDeps, reservation_id: PmsId, *, prefer: Side | None = None) -> PushResult:
    """Bring QloApps in line with one PMS reservation; ``prefer`` forces a side (resolving a conflict)."""
    before = deps.client.request_count
    with held_lock(deps.engine, "pms-reservation", reservation_id, timeout_s=deps.options.lock_timeout_s) as connection:
        factory = sessionmaker(bind=connection, expire_on_commit=False)
        try:
            result = _push(deps, factory, reservation_id, prefer)
        except PermanentError as exc:
            flag_refused(factory, deps.shop, reservation_id, exc)
            raise
    return replace(result, requests=deps.client.request_count - before)


def _push(deps: PushDeps, factory: sessionmaker[Session], reservation_id: PmsId, prefer: Side | None) -> PushResult:
    with transaction(factory) as session:
        ctx = _context(session, deps.shop, reservation_id)
    if ctx is None:
        return PushResult(PushAction.SKIPPED, reservation_id, note="the reservation no longer exists")
    known = ctx.known
    if known.in_conflict and prefer is None:
        return PushResult(PushAction.SKIPPED, reservation_id, known.qloapps_order_id, note="open conflict: `qlosync conflicts`")
    if known.qloapps_order_id is not None and known.pms_hash == ctx.digest and prefer is None:
        if known.push_error is not None:
            _clear_error(factory, known)
        return PushResult(PushAction.UNCHANGED, reservation_id, known.qloapps_order_id)
    order_id, action = known.qloapps_order_id, PushAction.UPDATED
    if order_id is None:
        order_id = _earlier_attempt(deps, ctx)
        action = PushAction.ADOPTED
    if order_id is None:
        return _create(deps, factory, ctx)
    return _update(deps, factory, ctx, order_id, action, prefer)


def _context(session: Session, shop: ShopConfig, reservation_id: PmsId) -> _Context | None:
    hotel = hotel_of(session, shop)
    state = current_state(session, hotel, shop, reservation_id)
    if state is None:
        return None
    mapping = session.scalars(select(QloAppsReservationMapping).where(
        QloAppsReservationMapping.pms_reservation_id == reservation_id)).one_or_none()
    known = _Known()
    if mapping is not None:
        known = _Known(mapping.id, mapping.qloapps_order_id, mapping.push_token, mapping.push_attempted_at,
                       mapping.qloapps_hash, mapping.pms_hash, mapping.qloapps_date_upd, mapping.push_error,
                       bool(open_conflict_mappings(session, [mapping.id])))
    room_types = {pms: qlo for qlo, pms in session.execute(
        select(QloAppsRoomTypeMapping.qloapps_room_type_id, QloAppsRoomTypeMapping.pms_room_type_id)
        .where(QloAppsRoomTypeMapping.config_id == shop.id))}
    rooms = {pms: qlo for qlo, pms in session.execute(
        select(QloAppsRoomMapping.qloapps_room_id, QloAppsRoomMapping.pms_room_id)
        .where(QloAppsRoomMapping.config_id == shop.id))}
    wanted = {line.room_type_id for line in state.lines}
    limits = {t.id: t for t in hotel.room_types() if t.id in wanted}
    pushed = frozenset(session.scalars(select(QloAppsRoomLineMapping.pms_reservation_line_id).where(
        QloAppsRoomLineMapping.pms_reservation_line_id.in_([line.id for line in state.lines]))))
    return _Context(state, known, pms_state_hash(state), room_types, rooms, limits, pushed)


def _earlier_attempt(deps: PushDeps, ctx: _Context) -> int | None:
    """The order a previous create made, if it did; raises CreatePending while that is not yet knowable."""
    known = ctx.known
    emails = [e for e in (ctx.state.guest.email, placeholder_email(ctx.state.guest.id)) if e]
    order_id = earlier_create(deps.client, known.push_token, known.push_attempted_at, emails,
                              deps.options.settle_after, f"reservation {ctx.state.reservation_id}: the create")
    if order_id is not None:
        logger.info("Reservation %s: found QloApps order %s from an earlier create; adopting it.",
                    ctx.state.reservation_id, order_id, extra={"action": "push_adopt", "qloapps_order_id": order_id})
    return order_id


def _create(deps: PushDeps, factory: sessionmaker[Session], ctx: _Context) -> PushResult:
    state, shop = ctx.state, deps.shop
    if state.closed:
        return PushResult(PushAction.SKIPPED, state.reservation_id, note=f"{state.status} before it reached QloApps")
    validate(state, ctx.room_types, ctx.limits, today=deps.options.today())
    with transaction(factory) as session:
        choice = choose_customer(session, deps.client, shop.id, state.guest)
    token = ctx.known.push_token or new_token()
    request = booking_request(state, id_hotel=shop.id_hotel, customer=choice.detail, room_types=ctx.room_types,
                              rooms=ctx.rooms, token=token)
    with transaction(factory) as session:  # the intent commits before the POST leaves
        mapping = _mapping_for_update(session, shop, state.reservation_id)
        mapping.push_token, mapping.push_attempted_at = token, datetime.now(UTC)
    try:
        booking = _making_room(deps, factory, ctx, lambda: deps.client.create_booking(request))
    except (QloAppsValidationError, QloAppsInvalidRequest) as exc:
        _forget_attempt(factory, state.reservation_id)  # refused: nothing was created, no need to settle
        raise PushRejected(f"QloApps refused the booking: {exc}") from None
    return _record(deps, factory, ctx, booking.id, PushAction.CREATED, choice, answer=booking)


def _update(deps: PushDeps, factory: sessionmaker[Session], ctx: _Context, order_id: int, action: PushAction,
            prefer: Side | None) -> PushResult:
    state, known, client = ctx.state, ctx.known, deps.client
    orders = client.get_orders([order_id])
    if not orders:
        raise PushRejected(f"QloApps order {order_id} of reservation {state.reservation_id} no longer exists")
    order = orders[0]
    snapshot: BookingSnapshot | None = None
    qloapps_changed = False
    if known.qloapps_hash is not None and order.date_upd != known.qloapps_date_upd:
        snapshot = client.snapshots_for([order])[0]
        qloapps_changed = content_hash(map_snapshot(snapshot, deps.currencies())) != known.qloapps_hash \
            and not already_like_pms(snapshot, state, ctx.room_types)
    side = prefer
    if side is None and qloapps_changed:
        assert state.changed_at is not None
        side = winner(deps.shop.conflict_strategy, state.changed_at, order.date_upd)
        if side is None:
            return _open_conflict(factory, deps.shop, ctx, order)
    if side == Side.QLOAPPS:
        return _pull_into_pms(deps, factory, ctx, snapshot or client.snapshots_for([order])[0])
    qloapps_closed = order.current_state in (STATE_CANCELLED, STATE_REFUNDED)
    if state.closed:
        refund = state.status == ReservationStatus.REFUNDED
        if not qloapps_closed or (refund and order.current_state != STATE_REFUNDED):
            answer = (client.refund_booking if refund else client.cancel_booking)(order_id)
            return _record(deps, factory, ctx, order_id, PushAction.CANCELLED, None, answer=answer)
        # Closed on both sides: nothing is written, so the order (and the snapshot, if the conflict check
        # fetched one) read above by this push is what QloApps holds: reading it again would return the same.
        return _record(deps, factory, ctx, order_id, action, None, unwritten=snapshot or order)
    if qloapps_closed:
        raise PushRejected(f"QloApps booking {order_id} is cancelled and cannot be reopened; the PMS reservation "
                           f"{state.reservation_id} is {state.status}: make a new reservation for this stay")
    validate(state, ctx.room_types, ctx.limits, today=deps.options.today(), pushed_line_ids=ctx.pushed_line_ids)
    # The conflict check above may have read the order's customer a moment ago, in this push: then that read
    # is the look-up (choose_customer makes one GET of the same customer otherwise).
    seen = snapshot.customer if snapshot is not None and snapshot.order.id_customer == order.id_customer else None

    def customer(remembered: bool) -> CustomerChoice:
        with transaction(factory) as session:
            return choose_customer(session, client, deps.shop.id, state.guest, order_customer_id=order.id_customer,
                                   order_customer=seen, remembered=remembered)

    def put(choice: CustomerChoice) -> Booking:
        request = booking_request(state, id_hotel=deps.shop.id_hotel, customer=choice.detail,
                                  room_types=ctx.room_types, rooms=ctx.rooms, order_id=order_id)
        return _making_room(deps, factory, ctx, lambda: client.update_booking(request))

    choice = customer(remembered=True)
    try:
        answer = put(choice)
    except QloAppsValidationError as exc:
        if not choice.remembered or "Customer not found" not in str(exc):
            raise
        # The e-mail remembered is no longer the customer's (changed in QloApps), or the customer is gone:
        # read it, as a push without the memory does (which tells the two apart).
        choice = customer(remembered=False)
        answer = put(choice)
    return _record(deps, factory, ctx, order_id, action, choice, answer=answer)


def _making_room(deps: PushDeps, factory: sessionmaker[Session], ctx: _Context, write: Callable[[], T]) -> T:
    """Send the write; if QloApps has no room because qlosync's own stop-sell booking holds it (the PMS sold a
    closed night at the front desk), recount the holds, which now include this reservation, and send it again."""
    try:
        return write()
    except QloAppsValidationError as exc:
        if "not available" not in str(exc) or not _release_stop_sell(deps, factory, ctx):
            raise
    return write()


def _release_stop_sell(deps: PushDeps, factory: sessionmaker[Session], ctx: _Context) -> bool:
    with transaction(factory) as session:
        held = set(session.scalars(select(QloAppsStopSellBlock.qloapps_room_type_id).where(
            QloAppsStopSellBlock.config_id == deps.shop.id, QloAppsStopSellBlock.qloapps_order_id.is_not(None))))
    stays: dict[PmsId, list[LineState]] = {}
    for line in ctx.state.lines:
        if ctx.room_types.get(line.room_type_id) in held:
            stays.setdefault(line.room_type_id, []).append(line)
    for pms_room_type, lines in stays.items():
        push_availability(deps.engine, deps.client, deps.shop, pms_room_type, min(line.checkin for line in lines),
                          max(line.checkout for line in lines) - timedelta(days=1))
    return bool(stays)


def _record(deps: PushDeps, factory: sessionmaker[Session], ctx: _Context, order_id: int, action: PushAction,
            choice: CustomerChoice | None, *, answer: Booking | None = None,
            unwritten: BookingSnapshot | Order | None = None) -> PushResult:
    """Read the order back and store what both sides now look like.

    ``answer``: QloApps' answer to the write just sent (its customer is used, see :func:`read_back`).
    ``unwritten``: nothing was written; what this push read of the order already, reused as the read-back.
    """
    if isinstance(unwritten, BookingSnapshot):
        snapshot = unwritten
    else:
        snapshot = read_back(deps.client, order_id, answer, order=unwritten,
                              stays=Counter((ctx.room_types.get(line.room_type_id), line.checkin, line.checkout)
                                            for line in ctx.state.lines))
    qloapps_digest = content_hash(map_snapshot(snapshot, deps.currencies()))
    state, shop = ctx.state, deps.shop
    pairs = match_lines(state.lines, snapshot.room_bookings, ctx.room_types, ctx.rooms)
    with transaction(factory) as session:
        mapping = _mapping_for_update(session, shop, state.reservation_id)
        mapping.qloapps_order_id = order_id
        mapping.qloapps_hash, mapping.qloapps_date_upd = qloapps_digest, snapshot.order.date_upd
        mapping.pms_hash, mapping.last_synced_at = ctx.digest, datetime.now(UTC)
        mapping.push_error = mapping.push_error_at = None
        session.execute(delete(QloAppsRoomLineMapping).where(
            QloAppsRoomLineMapping.config_id == shop.id,
            (QloAppsRoomLineMapping.qloapps_order_id == order_id)
            | QloAppsRoomLineMapping.pms_reservation_line_id.in_([line.id for line in state.lines])))
        session.add_all(QloAppsRoomLineMapping(config_id=shop.id, qloapps_order_id=order_id,
                                               qloapps_room_booking_id=rb.id, pms_reservation_line_id=line.id)
                        for line, rb in pairs)
        if snapshot.customer is not None and choice is not None:
            _remember_customer(session, shop.id, snapshot.customer, state.guest.id, choice.method)
            if choice.remembered and snapshot.customer.email.lower() != choice.detail.email.lower():
                # Another customer had the e-mail remembered: QloApps gave that one the PMS guest's name (B17).
                sync_log(session, shop, LogLevel.WARNING, order_id, "customer_email_changed",
                         f"QloApps customer {snapshot.customer.id} now has another e-mail than {choice.detail.email}; "
                         f"the customer with that e-mail may have been renamed", pms_reservation_id=state.reservation_id)
        details: dict[str, Any] = {"pms_reservation_id": state.reservation_id}
        if choice is not None and choice.note:
            sync_log(session, shop, LogLevel.WARNING, order_id, "customer_name_kept", choice.note, **details)
        for line, rb in pairs:
            if (line.adults, line.children) != (rb.adults, rb.children):
                sync_log(session, shop, LogLevel.WARNING, order_id, "occupancy_not_applied",
                         f"QloApps keeps {rb.adults} adults, {rb.children} children on room line {rb.id}; the PMS line "
                         f"{line.id} has {line.adults} and {line.children} (QloApps ignores occupancy changes, B25)",
                         **details, pms_line_id=line.id, qloapps_room_booking_id=rb.id)
        sync_log(session, shop, LogLevel.INFO, order_id, f"pushed_{action}", None, **details)
    logger.info("Reservation %s %s as QloApps order %s.", state.reservation_id, action, order_id,
                extra={"action": "push", "pms_reservation_id": state.reservation_id, "qloapps_order_id": order_id})
    return PushResult(action, state.reservation_id, order_id)


def match_lines(lines: Sequence[LineState], room_bookings: Sequence[RoomBooking], room_types: Mapping[PmsId, int],
                rooms: Mapping[PmsId, int]) -> list[tuple[LineState, RoomBooking]]:
    """Pair PMS lines with QloApps room lines of the same room type and stay, the same room first."""
    free = sorted(room_bookings, key=lambda rb: rb.id)
    pairs = []
    for line in sorted(lines, key=lambda line: (line.room_id is None, line.id)):
        stay = (room_types.get(line.room_type_id), line.checkin, line.checkout)
        candidates = [rb for rb in free if (rb.id_product, rb.date_from, rb.date_to) == stay]
        pinned = rooms.get(line.room_id) if line.room_id is not None else None
        candidates.sort(key=lambda rb: rb.id_room != pinned)
        if candidates:
            free.remove(candidates[0])
            pairs.append((line, candidates[0]))
    return pairs


def already_like_pms(snapshot: BookingSnapshot, state: PmsState, room_types: Mapping[PmsId, int]) -> bool:
    """QloApps already holds the PMS version (status, and every room line's type, stay, occupancy and price).

    Its change is then our own earlier write whose answer was lost, not a change made on the website.
    """
    status = ORDER_STATE_TO_STATUS.get(snapshot.order.current_state, ReservationStatus.PENDING)
    if status != state.status:
        return False
    live = [rb for rb in snapshot.room_bookings if state.closed or not rb.is_cancelled]
    pairs = match_lines(state.lines, live, room_types, {})
    return len(pairs) == len(state.lines) == len(live) and all(
        (line.adults, line.children) == (rb.adults, rb.children)
        and (line.price_without_tax <= 0 or line.price_without_tax == rb.total_price_tax_excl)
        for line, rb in pairs)


def _pull_into_pms(deps: PushDeps, factory: sessionmaker[Session], ctx: _Context, snapshot: BookingSnapshot) -> PushResult:
    """QloApps' version wins: apply it to the PMS like a pull would (this connection holds the locks)."""
    with transaction(factory) as session:
        # The winner is decided (by the strategy or a person): the apply must write QloApps' version, not
        # weigh both sides again by the shop's strategy (with `manual` it would open a new conflict, with
        # `pms_wins` keep the PMS) nor skip it as already synced.
        mapping = _mapping_for_update(session, deps.shop, ctx.state.reservation_id)
        current = hotel_of(session, deps.shop).reservation_states([ctx.state.reservation_id]).get(
            ctx.state.reservation_id)
        if current is not None:
            mapping.pms_hash = pms_state_hash(current)
        mapping.qloapps_hash = None
        sync_log(session, deps.shop, LogLevel.WARNING, snapshot.id, "conflict_qloapps_wins", "changed on both sides",
                 pms_reservation_id=ctx.state.reservation_id, strategy=deps.shop.conflict_strategy)
        catalog = Catalog.load(session, deps.shop.id, deps.currencies())
        apply_snapshot(session, deps.shop, snapshot, catalog)
    return PushResult(PushAction.PULLED, ctx.state.reservation_id, snapshot.id, note="QloApps' version kept")


def _open_conflict(factory: sessionmaker[Session], shop: ShopConfig, ctx: _Context, order: Order) -> PushResult:
    with transaction(factory) as session:
        mapping = _mapping_for_update(session, shop, ctx.state.reservation_id)
        assert ctx.state.changed_at is not None
        conflict = record_conflict(session, mapping, detected_by="push", pms_changed_at=ctx.state.changed_at,
                                   qloapps_changed_at=order.date_upd,
                                   details={"pms_status": ctx.state.status, "qloapps_state": order.current_state})
        sync_log(session, shop, LogLevel.WARNING, order.id, "conflict", f"changed on both sides: conflict {conflict.id}",
                 pms_reservation_id=ctx.state.reservation_id)
    return PushResult(PushAction.CONFLICT, ctx.state.reservation_id, order.id, note=f"conflict {conflict.id}")


def _mapping_for_update(session: Session, shop: ShopConfig, reservation_id: PmsId) -> QloAppsReservationMapping:
    mapping = session.scalars(select(QloAppsReservationMapping).where(
        QloAppsReservationMapping.pms_reservation_id == reservation_id).with_for_update()).one_or_none()
    if mapping is None:
        mapping = QloAppsReservationMapping(config_id=shop.id, pms_reservation_id=reservation_id,
                                             origin=Side.PMS)
        session.add(mapping)
        session.flush()
    return mapping


def _remember_customer(session: Session, config_id: int, customer: Customer, guest_id: PmsId, method: str) -> None:
    """The customer's mapping, with its e-mail as QloApps shows it now (customers.remembered_customer)."""
    mapping = session.scalars(select(QloAppsCustomerMapping).where(
        QloAppsCustomerMapping.config_id == config_id, QloAppsCustomerMapping.qloapps_customer_id == customer.id)
    ).one_or_none()
    if mapping is None:
        session.add(QloAppsCustomerMapping(config_id=config_id, qloapps_customer_id=customer.id, pms_guest_id=guest_id,
                                           match_method=method, qloapps_email=customer.email))
    elif mapping.qloapps_email != customer.email:
        mapping.qloapps_email = customer.email


def flag_refused(factory: sessionmaker[Session], shop: ShopConfig, reservation_id: PmsId, exc: Exception) -> None:
    """Keep the reason a push was refused on the reservation's mapping, for status, until a push succeeds."""
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction(factory) as session:
        if reservation_id not in open_pms(session).hotels_of_reservations([reservation_id]):
            return
        mapping = _mapping_for_update(session, shop, reservation_id)
        mapping.push_error, mapping.push_error_at = reason, datetime.now(UTC)
        sync_log(session, shop, LogLevel.ERROR, mapping.qloapps_order_id or f"pms:{reservation_id}", "push_refused", reason,
                 pms_reservation_id=reservation_id)


def _clear_error(factory: sessionmaker[Session], known: _Known) -> None:
    with transaction(factory) as session:
        session.execute(update(QloAppsReservationMapping).where(QloAppsReservationMapping.id == known.id)
                        .values(push_error=None, push_error_at=None))


def _forget_attempt(factory: sessionmaker[Session], reservation_id: PmsId) -> None:
    with transaction(factory) as session:
        session.execute(update(QloAppsReservationMapping)
                        .where(QloAppsReservationMapping.pms_reservation_id == reservation_id)
                        .values(push_attempted_at=None))


def cancel_deleted(deps: PushDeps, mapping_ids: Sequence[int], reservation_id: PmsId = "") -> list[PushResult]:
    """A PMS reservation was deleted: cancel the QloApps bookings its mappings (their ids kept by the change
    capture, their link to it gone) point at."""
    results = []
    for mapping_id in mapping_ids:
        with held_lock(deps.engine, "reservation-mapping", mapping_id, timeout_s=deps.options.lock_timeout_s) as conn:
            factory = sessionmaker(bind=conn, expire_on_commit=False)
            with transaction(factory) as session:
                mapping = session.get(QloAppsReservationMapping, mapping_id)
                order_id = mapping.qloapps_order_id if mapping is not None else None
            if order_id is None:
                continue
            orders = deps.client.get_orders([order_id])
            action = PushAction.UNCHANGED
            snapshot: list[BookingSnapshot] = []
            if orders and orders[0].current_state not in (STATE_CANCELLED, STATE_REFUNDED):
                answer = deps.client.cancel_booking(order_id)
                action = PushAction.CANCELLED
                snapshot = [read_back(deps.client, order_id, answer)]
            elif orders:
                # Already cancelled: nothing is written, the order read just above is the read-back.
                snapshot = [read_back(deps.client, order_id, None, order=orders[0])]
            with transaction(factory) as session:
                mapping = session.get_one(QloAppsReservationMapping, mapping_id, with_for_update=True)
                if snapshot:
                    mapping.qloapps_hash = content_hash(map_snapshot(snapshot[0], deps.currencies()))
                    mapping.qloapps_date_upd = snapshot[0].order.date_upd
                mapping.last_synced_at = datetime.now(UTC)
                sync_log(session, deps.shop, LogLevel.INFO, order_id, f"pushed_{action}", "the PMS reservation was deleted")
            results.append(PushResult(action, reservation_id, order_id))
    return results
