"""Fixtures for outbound tests: push dependencies on the simulator, PMS rows made by plain SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsRoomMapping, QloAppsRoomTypeMapping
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import PmsId, PmsState, ReservationChange
from qlosync.sync.outbound.push import PushDeps, PushOptions
from tests.pms_desk import desk_for

TODAY = datetime.now(UTC).date()


def stay(days_ahead: int, nights: int = 2) -> tuple[date, date]:
    start = TODAY + timedelta(days=days_ahead)
    return start, start + timedelta(days=nights)


def pms_room_type(session: Session, config_id: int, qloapps_room_type_id: int) -> str:
    return session.scalar(select(QloAppsRoomTypeMapping.pms_room_type_id).where(
        QloAppsRoomTypeMapping.config_id == config_id, QloAppsRoomTypeMapping.qloapps_room_type_id == qloapps_room_type_id))


def pms_room(session: Session, config_id: int, qloapps_room_id: int) -> str:
    return session.scalar(select(QloAppsRoomMapping.pms_room_id).where(
        QloAppsRoomMapping.config_id == config_id, QloAppsRoomMapping.qloapps_room_id == qloapps_room_id))


def front_desk_reservation(engine: Engine, *, room_type_id: str, checkin: date, checkout: date,
                           first: str = "Walk", last: str = "In", email: str | None = "walk.in@example.com",
                           phone: str | None = "+1 555 0100", adults: int = 2, status: str = "confirmed",
                           price: str = "0") -> str:
    """A reservation with one line, made at the front desk of the engine's PMS (not through qlosync)."""
    return desk_for(engine).reservation(room_type_id=room_type_id, checkin=checkin, checkout=checkout, first=first,
                                        last=last, email=email, phone=phone, adults=adults, status=status,
                                        price=price)


def pms_state(engine: Engine, shop: ShopConfig, reservation_id: PmsId) -> PmsState | None:
    """The reservation as the shop's PMS hotel has it now, read through the port (None: not there)."""
    with Session(engine) as session:
        return shop_hotel(open_pms(session), shop.pms_hotel_id).reservation_states([reservation_id]).get(reservation_id)


def unsent_changes(engine: Engine) -> int:
    """How many captured PMS changes wait for the relay (the port's backlog)."""
    with Session(engine) as session:
        return open_pms(session).changes.backlog().unsent


def pending_reservations(engine: Engine) -> dict[PmsId, ReservationChange]:
    """The reservations with a captured change not yet handed on, by id: claimed in a transaction rolled back."""
    with Session(engine) as session:
        changes = open_pms(session).changes.claim(100_000)
        session.rollback()
    return {c.reservation_id: c for c in changes if isinstance(c, ReservationChange)}


@pytest.fixture
def push_deps(engine, client, shop, mapped_catalog) -> PushDeps:  # type: ignore[no-untyped-def]
    return PushDeps(engine=engine, client=client, shop=shop, options=PushOptions(lock_timeout_s=5))
