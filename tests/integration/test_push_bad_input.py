"""Reservations QloApps cannot take (or would store wrongly) are refused with a reason, flagged on the
mapping, create nothing in QloApps, do not block other reservations, and go through once fixed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qlosync.errors import PermanentError
from qlosync.pms import open_pms, shop_hotel
from qlosync.sync.outbound.mapper import PushRejected, validate
from qlosync.sync.outbound.push import PushDeps, push_reservation
from tests.outbound_fixtures import TODAY, pms_room_type, front_desk_reservation, stay
from tests.pms_desk import FrontDesk, desk_for


def _pms_type(engine: Engine, shop, qloapps_room_type: int) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return pms_room_type(session, shop.id, qloapps_room_type)


def _mapping(engine: Engine, reservation_id: str):  # type: ignore[no-untyped-def]
    with engine.connect() as c:
        return c.execute(text("SELECT qloapps_order_id, push_error, push_error_at, push_attempted_at "
                              "FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                         {"r": reservation_id}).one()


def _refusals(engine: Engine, reservation_id: str) -> list[str]:
    with engine.connect() as c:
        return list(c.execute(text("SELECT reason FROM qloapps_sync_logs WHERE action = 'push_refused' "
                                   "AND level = 'error' AND details->>'pms_reservation_id' = :r ORDER BY id"),
                              {"r": str(reservation_id)}).scalars())


@dataclass(frozen=True)
class Fixing:
    """What a fix may need: the mapped General Room and a later stay."""

    desk: FrontDesk
    general: str
    later_in: date
    later_out: date


@dataclass(frozen=True)
class BadCase:
    """A bad reservation: how to make it, what the refusal names, and the front desk's fix."""

    make: Callable[[Engine, PushDeps], str]
    says: str
    fix: Callable[[Fixing, str], None]
    value: str | None = None  # the offending value, which the reason must not repeat


def _unmapped(engine: Engine, deps: PushDeps) -> str:
    room_type = desk_for(engine).room_type("SUITE", "Garden Suite")
    return front_desk_reservation(engine, room_type_id=room_type, checkin=stay(30)[0], checkout=stay(30)[1])


def _past(engine: Engine, deps: PushDeps) -> str:
    return front_desk_reservation(engine, room_type_id=_pms_type(engine, deps.shop, 1), checkin=stay(-3)[0],
                           checkout=stay(-3)[1])


def _crowded(engine: Engine, deps: PushDeps) -> str:
    room_type = _pms_type(engine, deps.shop, 1)
    with Session(engine) as session:
        limit = next(t.max_adults for t in shop_hotel(open_pms(session), deps.shop.pms_hotel_id).room_types()
                     if t.id == room_type)
    return front_desk_reservation(engine, room_type_id=room_type, checkin=stay(30)[0], checkout=stay(30)[1],
                           adults=limit + 1)


def _no_adult(engine: Engine, deps: PushDeps) -> str:
    return front_desk_reservation(engine, room_type_id=_pms_type(engine, deps.shop, 1), checkin=stay(30)[0],
                           checkout=stay(30)[1], adults=0)


def _digits(engine: Engine, deps: PushDeps) -> str:
    return front_desk_reservation(engine, room_type_id=_pms_type(engine, deps.shop, 1), checkin=stay(30)[0],
                           checkout=stay(30)[1], first="J0hn", email="john@example.com")


LONG_NAME, EMOJI_NAME = "Maximilian" * 25, "Smith \U0001F600"
LONG_EMAIL = "j" * 117 + "@example.com"  # 129 characters


def _named(first: str = "Jo", last: str = "Smith", email: str = "jo@example.com") -> Callable[[Engine, PushDeps], str]:
    def make(engine: Engine, deps: PushDeps) -> str:
        return front_desk_reservation(engine, room_type_id=_pms_type(engine, deps.shop, 1), checkin=stay(30)[0],
                               checkout=stay(30)[1], first=first, last=last, email=email)
    return make


def _guest_fix(**fields: str) -> Callable[[Fixing, str], None]:
    return lambda f, reservation: f.desk.update_guest(reservation, **fields)


def _later(f: Fixing, reservation: str) -> None:
    f.desk.move(reservation, f.later_in, f.later_out)


def _adults(count: int) -> Callable[[Fixing, str], None]:
    return lambda f, reservation: f.desk.update_lines(reservation, adults=count)


def _bad_email(engine: Engine, deps: PushDeps) -> str:
    return front_desk_reservation(engine, room_type_id=_pms_type(engine, deps.shop, 1), checkin=stay(30)[0],
                           checkout=stay(30)[1], first="Jo", last="Smith", email="jo.smith@example")


def _sold_out(engine: Engine, deps: PushDeps) -> str:
    """Five reservations take all five General Rooms for the stay; the sixth finds none free."""
    room_type = _pms_type(engine, deps.shop, 1)
    checkin, checkout = stay(30)
    for n in range(5):
        earlier = front_desk_reservation(engine, room_type_id=room_type, checkin=checkin, checkout=checkout,
                                  first="Early", last="Bird", email=f"early{n}@example.com")
        assert push_reservation(deps, earlier).action == "created"
    return front_desk_reservation(engine, room_type_id=room_type, checkin=checkin, checkout=checkout, first="Late",
                           last="Comer", email="late@example.com")


CASES = {
    "unmapped room type": BadCase(_unmapped, "not mapped to a QloApps room type",
                                  lambda f, reservation: f.desk.update_lines(reservation, room_type_id=f.general)),
    "stay in the past": BadCase(_past, "the stay starts in the past", _later),
    "too many adults": BadCase(_crowded, "exceed room type", _adults(2)),
    "no adult": BadCase(_no_adult, "at least one adult", _adults(1)),
    "digits in the first name": BadCase(_digits, "firstname contains digits", _guest_fix(first_name="John")),
    "invalid e-mail": BadCase(_bad_email, "e-mail is not a valid address", _guest_fix(email="jo.smith@example.com")),
    "digits in the last name": BadCase(_named(last="Smith3"), "lastname contains digits",
                                       _guest_fix(last_name="Smith")),
    "250-character first name": BadCase(_named(first=LONG_NAME), "firstname is 250 characters, QloApps stores at most 32",
                                        _guest_fix(first_name="Maximilian"), value=LONG_NAME),
    "emoji in the last name": BadCase(_named(last=EMOJI_NAME), "lastname has a character QloApps cannot store",
                                      _guest_fix(last_name="Smith"), value="\U0001F600"),
    "129-character e-mail": BadCase(_named(email=LONG_EMAIL), "e-mail is 129 characters, QloApps stores at most 128",
                                    _guest_fix(email="jo.long@example.com"), value=LONG_EMAIL),
    "no room free in QloApps": BadCase(_sold_out, "Requested room(s) not available.", _later),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_bad_reservation_is_refused_flagged_and_goes_through_once_fixed(
    case: BadCase, simulator, push_deps, engine, shop
):
    # Given a reservation QloApps cannot take as it is
    reservation = case.make(engine, push_deps)
    orders_before = set(simulator.store.table("orders"))

    # When it is pushed
    with pytest.raises(PermanentError) as refused:
        push_reservation(push_deps, reservation)

    # Then the refusal names the problem, the mapping keeps it, the sync log has it, QloApps has no order for it
    assert isinstance(refused.value, PushRejected)
    assert case.says in str(refused.value)
    flagged = _mapping(engine, reservation)
    assert flagged.qloapps_order_id is None
    assert flagged.push_error is not None and case.says in flagged.push_error and flagged.push_error_at is not None
    assert case.value is None or case.value not in flagged.push_error
    assert len(_refusals(engine, reservation)) == 1
    assert set(simulator.store.table("orders")) == orders_before
    assert not any(f"reservation {reservation}" in " ".join(o["_remarks"])
                   for o in simulator.store.table("orders").values())

    # And a good reservation pushed afterwards goes through
    good = front_desk_reservation(engine, room_type_id=_pms_type(engine, shop, 2), checkin=stay(60)[0],
                           checkout=stay(60)[1], first="Good", last="Guest", email="good@example.com")
    assert push_reservation(push_deps, good).action == "created"
    assert len(simulator.store.table("orders")) == len(orders_before) + 1

    # When the bad reservation is fixed at the front desk and pushed again
    later_in, later_out = stay(90)
    case.fix(Fixing(desk_for(engine), _pms_type(engine, shop, 1), later_in, later_out), reservation)
    result = push_reservation(push_deps, reservation)

    # Then it is created, once, and the flag is cleared
    assert result.action == "created"
    assert len(simulator.store.table("orders")) == len(orders_before) + 2
    fixed = _mapping(engine, reservation)
    assert fixed.qloapps_order_id == result.qloapps_order_id
    assert fixed.push_error is None and fixed.push_error_at is None
    assert len(_refusals(engine, reservation)) == 1


def test_a_stay_whose_checkout_is_not_after_checkin_cannot_be_stored_and_is_refused_by_the_checks(
    push_deps, engine, shop
):
    room_type = _pms_type(engine, shop, 1)
    checkin, checkout = stay(30)
    reservation = front_desk_reservation(engine, room_type_id=room_type, checkin=checkin, checkout=checkout)
    # Given the PMS refuses such a line outright (the built-in: a CHECK constraint)
    with pytest.raises(IntegrityError):
        desk_for(engine).update_lines(reservation, checkout=checkin)
    # When the checks see a state with such a line (a host PMS without the constraint)
    with Session(engine) as session:
        hotel = shop_hotel(open_pms(session), shop.pms_hotel_id)
        state = hotel.reservation_states([reservation]).get(reservation)
        limits = {t.id: t for t in hotel.room_types() if t.id == room_type}
    assert state is not None and list(limits) == [room_type]
    room_types = {room_type: 1}
    validate(state, room_types, limits, today=TODAY)  # the stored one is fine
    for days in (0, -1):
        line = state.lines[0]
        bad = replace(state, lines=(replace(line, checkout=line.checkin + timedelta(days=days)),))
        # Then they refuse it with a reason
        with pytest.raises(PushRejected, match="check-out is not after check-in"):
            validate(bad, room_types, limits, today=TODAY)


def test_a_refused_push_is_flagged_again_after_a_new_failure_and_the_reason_is_updated(
    simulator, push_deps, engine, shop
):
    # Given a reservation refused for its e-mail
    reservation = _bad_email(engine, push_deps)
    with pytest.raises(PushRejected, match="e-mail"):
        push_reservation(push_deps, reservation)
    # When the e-mail is fixed but the stay is moved into the past
    desk = desk_for(engine)
    desk.update_guest(reservation, email="jo.smith@example.com")
    desk.move(reservation, *stay(-5))
    with pytest.raises(PushRejected, match="in the past"):
        push_reservation(push_deps, reservation)
    # Then the flag carries the newest reason only, and nothing reached QloApps
    flagged = _mapping(engine, reservation)
    assert "in the past" in flagged.push_error and "e-mail" not in flagged.push_error
    assert len(_refusals(engine, reservation)) == 2
    assert not simulator.store.table("orders")
