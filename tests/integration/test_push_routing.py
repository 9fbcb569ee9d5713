"""Which shop a PMS reservation is pushed to: the shop of its PMS hotel (issue 20 item 4), never another's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.session import transaction
from qlosync.pms.port import PmsId, RoomTypeNotInHotel
from qlosync.runtime.context import Runtime
from qlosync.states import PushAction
from qlosync.sync.outbound.jobs import (HotelWithoutShop, NoShopForReservation, missing_reservations, push,
                                        push_rates_job, shop_name_for)
from qlosync.sync.outbound.mapper import PushRejected
from qlosync.sync.outbound.push import PushDeps, PushOptions, PushResult, push_reservation
from qlosync.sync.service import load_shop_config
from tests.pms_desk import FrontDesk, desk_for

CHECKIN, CHECKOUT = date(2031, 5, 1), date(2031, 5, 3)


def _shop(engine: Engine, name: str, pms_hotel_id: PmsId | None, *, enabled: bool = True) -> int:
    with engine.begin() as c:
        return int(c.execute(text(
            "INSERT INTO qloapps_config (name, base_url, api_key_encrypted, sync_enabled, id_hotel, conflict_strategy, "
            "pms_hotel_id) VALUES (:n, 'http://qloapps.test', '\\x00', :e, 1, 'pms_wins', :h) RETURNING id"),
            {"n": name, "e": enabled, "h": pms_hotel_id}).scalar_one())


def _booked(desk: FrontDesk) -> PmsId:
    return desk.reservation(room_type_id=desk.room_type("STD", "Standard"), checkin=CHECKIN, checkout=CHECKOUT)


def _route(session_factory: sessionmaker[Session], reservation_id: PmsId) -> str | None:
    with transaction(session_factory) as session:
        return shop_name_for(session, reservation_id)


def test_with_one_hotel_a_shop_that_names_none_gets_its_reservations(engine, session_factory):
    _shop(engine, "default", None)
    reservation = _booked(desk_for(engine))
    assert _route(session_factory, reservation) == "default"


def test_each_hotels_reservation_goes_to_its_own_shop_disabled_or_not(engine, session_factory):
    desk_a = desk_for(engine)
    desk_b = desk_a.at(desk_a.add_hotel("Hotel B"))
    _shop(engine, "shop-a", desk_a.hotel_id)
    _shop(engine, "shop-b", desk_b.hotel_id, enabled=False)  # a disabled shop still owns them (flagged, not lost)
    # Room type codes may repeat across hotels
    in_a, in_b = _booked(desk_a), _booked(desk_b)
    assert (_route(session_factory, in_a), _route(session_factory, in_b)) == ("shop-a", "shop-b")


def test_a_shop_that_names_no_hotel_counts_for_none_when_the_pms_has_several(engine, session_factory):
    desk_a = desk_for(engine)
    desk_a.add_hotel("Hotel B")
    _shop(engine, "default", None)
    with pytest.raises(NoShopForReservation, match=f"in PMS hotel {desk_a.hotel_id}, which no QloApps shop syncs"):
        _route(session_factory, _booked(desk_a))


def test_a_reservation_of_a_hotel_without_a_shop_is_not_pushed_and_says_why(engine, session_factory, settings,
                                                                           caplog):
    desk_a = desk_for(engine)
    desk_c = desk_a.at(desk_a.add_hotel("Hotel C"))
    _shop(engine, "shop-a", desk_a.hotel_id)
    reservation = _booked(desk_c)
    why = (f"reservation {reservation} is in PMS hotel {desk_c.hotel_id}, which no QloApps shop syncs: not pushed "
           f"(`qlosync shops set NAME --pms-hotel {desk_c.hotel_id}`)")
    with pytest.raises(HotelWithoutShop) as refused:
        _route(session_factory, reservation)
    assert str(refused.value) == why
    # A push skips it (no dead letter for every change of a hotel that is not on QloApps) and logs why
    runtime = Runtime(settings=settings, engine=engine, session_factory=session_factory)
    with caplog.at_level("WARNING", logger="qlosync.sync.outbound.jobs"):
        assert push(runtime, reservation) == [PushResult(PushAction.SKIPPED, reservation, note=why)]
    assert why in caplog.text


def test_of_several_shops_on_one_hotel_the_one_that_maps_the_reservation_gets_it(engine, session_factory):
    desk = desk_for(engine)
    _shop(engine, "first", desk.hotel_id)
    second = _shop(engine, "second", desk.hotel_id)
    reservation = _booked(desk)
    # Without a mapping: no guess, the error names both
    with pytest.raises(NoShopForReservation, match=r"several QloApps shops sync \(first, second\)"):
        _route(session_factory, reservation)
    with engine.begin() as c:
        c.execute(text("INSERT INTO qloapps_reservation_mappings (config_id, qloapps_order_id, pms_reservation_id, "
                       "origin) VALUES (:c, 77, :r, 'qloapps')"), {"c": second, "r": reservation})
    assert _route(session_factory, reservation) == "second"


def test_a_reservation_the_pms_does_not_have_goes_nowhere(engine, session_factory):
    _shop(engine, "default", None)
    for unknown in ("424242", "0", "not-a-number", "99999999999999999999"):
        assert _route(session_factory, unknown) is None
    with transaction(session_factory) as session:
        assert missing_reservations(session, ["424242", "x"]) == {"424242", "x"}


def test_a_shop_refuses_to_push_another_hotels_reservation(engine, session_factory, settings, shop, client):
    # Given the default shop bound to the first hotel, and a reservation of a second hotel it was wrongly mapped to
    desk_a = desk_for(engine)
    desk_b = desk_a.at(desk_a.add_hotel("Hotel B"))
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET pms_hotel_id = :h WHERE id = :c"),
                  {"h": desk_a.hotel_id, "c": shop.id})
    bound = load_shop_config(settings, session_factory, shop.name)
    reservation = _booked(desk_b)
    requests = client.request_count
    # When the shop is asked to push it
    with pytest.raises(PushRejected, match=f"in PMS hotel {desk_b.hotel_id}, not in hotel {desk_a.hotel_id}"):
        push_reservation(PushDeps(engine=engine, client=client, shop=bound, options=PushOptions(lock_timeout_s=5)),
                         reservation)
    # Then nothing was sent to QloApps, and the refusal is flagged for status
    assert client.request_count == requests
    with engine.connect() as c:
        flagged = c.execute(text("SELECT push_error FROM qloapps_reservation_mappings WHERE pms_reservation_id = :r"),
                            {"r": reservation}).scalar_one()
    assert "not in hotel" in flagged


def _maps(engine: Engine, config_id: int, qloapps_room_type: int, pms_room_type: PmsId) -> None:
    with engine.begin() as c:
        c.execute(text("INSERT INTO qloapps_room_type_mappings (config_id, qloapps_room_type_id, qloapps_hotel_id, "
                       "pms_room_type_id) VALUES (:c, :q, 1, :p)"), {"c": config_id, "q": qloapps_room_type,
                                                                     "p": pms_room_type})


def test_rates_go_to_each_shop_mapping_the_room_type_through_its_hotel_and_a_misbound_shop_gets_none(
        engine, session_factory, settings, shop, simulator):
    # Given a room type of the first hotel, mapped by the default shop (bound to that hotel) and by a shop of
    # a second hotel (a wrong mapping)
    desk_a = desk_for(engine)
    desk_b = desk_a.at(desk_a.add_hotel("Hotel B"))
    with engine.begin() as c:
        c.execute(text("UPDATE qloapps_config SET pms_hotel_id = :h WHERE id = :c"),
                  {"h": desk_a.hotel_id, "c": shop.id})
    std = desk_a.room_type("STD", "Standard")
    desk_a.set_rate(std, CHECKIN, "120")
    _maps(engine, shop.id, 1, std)
    _maps(engine, _shop(engine, "shop-b", desk_b.hotel_id), 1, std)
    # When its rates are pushed
    with pytest.raises(RoomTypeNotInHotel, match=f"not pushed to QloApps shop\\(s\\) shop-b: the room type is in "
                                                 f"PMS hotel {desk_a.hotel_id}"):
        push_rates_job(Runtime(settings, engine, session_factory), std, CHECKIN, CHECKOUT)
    # Then the default shop got them (one rule at the PMS price), the misbound shop nothing
    with engine.connect() as c:
        rules = c.execute(text("SELECT config_id, date_from, price FROM qloapps_rate_rules")).all()
        pushed = c.execute(text("SELECT q.name FROM qloapps_sync_logs l JOIN qloapps_config q ON q.id = l.config_id "
                                "WHERE l.action = 'rates_pushed'")).scalars().all()
    assert [tuple(r) for r in rules] == [(shop.id, CHECKIN, Decimal("120.00"))] and pushed == ["default"]
    assert [Decimal(str(r["impact_value"])) for r in simulator.store.table("feature_prices").values()
            if str(r["date_from"])[:10] == CHECKIN.isoformat()] == [Decimal("120")]
