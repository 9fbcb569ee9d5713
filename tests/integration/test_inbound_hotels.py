"""Two shops bound to two PMS hotels, with the same QloApps room type names, room numbers and customers: each
imports its catalog and bookings into its own hotel, both at the same time, without an error (issue 20)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import ShopConfig, load_shop, save_config
from qlosync.db.models import QloAppsCustomerMapping, QloAppsReservationMapping, QloAppsRoomMapping
from qlosync.db.session import transaction
from qlosync.pms import open_pms
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import BookingRequest, CustomerDetail, RoomRequest, RoomTypeRequest
from qlosync.qloapps.simulator import ShopSim, Simulator
from qlosync.secrets import Secret
from qlosync.sync.inbound.catalog import (
    CatalogImport,
    MappingError,
    import_catalog,
    list_room_type_mappings,
    set_room_type_mapping,
)
from qlosync.sync.inbound.pull import PullDeps, RunReport, run_pull
from tests.conftest import TEST_API_KEY
from tests.integration.sync_helpers import actual_booking, expected_booking
from tests.pms_desk import desk_for
from tests.sync_fixtures import simulated_shops


def _book_sam(client: QloAppsClient, checkin: date) -> int:
    """The same customer (e-mail, name, phone) booking in a shop."""
    request = BookingRequest(
        id_property=1, currency="USD", source="qlosync-test",
        customer=CustomerDetail("Sam", "Rivera", "sam.rivera@example.com", "+1 555 010 2030"),
        room_types=(RoomTypeRequest(2, checkin, checkin + timedelta(days=2), rooms=(RoomRequest(adults=2),)),),
    )
    return client.create_booking(request).id


@pytest.fixture
def hotel_shops(simulator: Simulator, engine: Any, session_factory: Any,
                secret_key: Secret) -> Iterator[list[tuple[ShopSim, ShopConfig, PullDeps]]]:
    """Shops north (the PMS's first hotel) and south (a second one), each with the simulator's catalog."""
    hotels = [desk_for(engine).hotel_id, desk_for(engine).add_hotel("South hotel")]
    with simulated_shops(simulator, engine, session_factory, secret_key, ["north", "south"], hotels) as shops:
        assert [config.pms_hotel_id for _sim, config, _deps in shops] == hotels
        yield shops


def _at_once(*calls: Any) -> list[Any]:
    """Run the calls in threads started together; their results, or the first error."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001 (re-raised below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _import(session_factory: Any, deps: PullDeps) -> CatalogImport:
    with transaction(session_factory) as session:
        return import_catalog(session, deps.client, deps.shop)


def test_two_shops_of_two_hotels_import_the_same_names_and_numbers_into_their_own_hotel(
    simulator: Simulator, session_factory: Any, hotel_shops: Any
) -> None:
    (north, north_config, north_deps), (south, south_config, south_deps) = hotel_shops
    north_ids = [*north.store.generate_bookings(6, seed=1), _book_sam(north_deps.client, date(2031, 5, 1))]
    south_ids = [*south.store.generate_bookings(9, seed=2), _book_sam(south_deps.client, date(2031, 5, 3))]

    # When both catalogs and then both shops' bookings are imported at the same time
    imports = _at_once(lambda: _import(session_factory, north_deps), lambda: _import(session_factory, south_deps))
    reports: list[RunReport] = _at_once(lambda: run_pull(north_deps, kind="full"),
                                        lambda: run_pull(south_deps, kind="full"))

    # Then each hotel got room types and rooms of its own, with QloApps' names and numbers (nothing renamed)
    assert [(i.room_types_created, i.rooms_created) for i in imports] == [(4, 20), (4, 20)]
    with transaction(session_factory) as session:
        pms = open_pms(session)
        for config in (north_config, south_config):
            hotel = pms.hotel(config.pms_hotel_id)
            assert len(hotel.room_types()) == 4 and len(hotel.rooms()) == 20
            mapped = list_room_type_mappings(session, config.id, config.pms_hotel_id)
            assert {t.id for _, t in mapped} == {t.id for t in hotel.room_types()}
            assert {m.qloapps_name for m, t in mapped} == {t.name for _, t in mapped}
            numbers = dict(session.execute(select(QloAppsRoomMapping.pms_room_id, QloAppsRoomMapping.room_number)
                                           .where(QloAppsRoomMapping.config_id == config.id)).all())
            assert numbers == {r.id: r.number for r in hotel.rooms()}
        assert {t.name for t in pms.hotel(north_config.pms_hotel_id).room_types()} == {
            t.name for t in pms.hotel(south_config.pms_hotel_id).room_types()}

    # And each shop's bookings are in its own hotel, with a guest of that hotel (Sam is two guests, one a hotel)
    assert [(r.status, r.counts["created"], r.counts["failed"]) for r in reports] == [
        ("succeeded", len(north_ids), 0), ("succeeded", len(south_ids), 0)]
    with transaction(session_factory) as session:
        pms = open_pms(session)
        sams = []
        for sim_shop, config, ids in ((north, north_config, north_ids), (south, south_config, south_ids)):
            reservations = dict(session.execute(select(QloAppsReservationMapping.qloapps_order_id,
                                                       QloAppsReservationMapping.pms_reservation_id).where(
                QloAppsReservationMapping.config_id == config.id)).all())
            assert set(reservations) == set(ids)
            assert set(pms.hotels_of_reservations(list(reservations.values())).values()) == {config.pms_hotel_id}
            states = pms.hotel(config.pms_hotel_id).reservation_states(list(reservations.values()))
            assert len(states) == len(ids)  # guests and lines read within the hotel
            for order_id in ids:
                assert actual_booking(session, config.id, order_id) == expected_booking(sim_shop, order_id, session)
            sams.append(states[reservations[ids[-1]]].guest)
            guest_ids = set(session.scalars(select(QloAppsCustomerMapping.pms_guest_id).where(
                QloAppsCustomerMapping.config_id == config.id)))
            assert {g.id for g in pms.hotel(config.pms_hotel_id).guests_matching(guest_ids, [], [])} == guest_ids
        assert sams[0].email == sams[1].email == "sam.rivera@example.com" and sams[0].id != sams[1].id

    # A second pull of each changes nothing
    again = _at_once(lambda: run_pull(north_deps, kind="full"), lambda: run_pull(south_deps, kind="full"))
    assert [(r.counts["created"], r.counts["updated"], r.counts["failed"]) for r in again] == [(0, 0, 0), (0, 0, 0)]


def test_a_shop_maps_only_room_types_of_its_own_hotel(simulator: Simulator, session_factory: Any, hotel_shops: Any) -> None:
    (_, north_config, north_deps), (_, south_config, south_deps) = hotel_shops
    _import(session_factory, north_deps)
    _import(session_factory, south_deps)
    with transaction(session_factory) as session:
        north_type = open_pms(session).hotel(north_config.pms_hotel_id).room_types()[0]
        with pytest.raises(MappingError, match="no PMS room type with id or code"):
            set_room_type_mapping(session, south_config, 1, north_type.id)
        with pytest.raises(MappingError, match="no PMS room type with id or code"):
            set_room_type_mapping(session, south_config, 1, "no-such-code")


@pytest.mark.parametrize("pms_hotel_id", ["99", None])
def test_a_pull_into_a_hotel_the_pms_cannot_place_fails_at_once_and_retries_no_booking(
    simulator: Simulator, engine: Any, session_factory: Any, secret_key: Secret, pms_hotel_id: str | None
) -> None:
    # Given a shop bound to a hotel the PMS has not, or to none while the PMS has two
    desk_for(engine).add_hotel("Second hotel")
    cipher = KeyCipher(secret_key)
    with transaction(session_factory) as session:
        save_config(session, cipher, base_url=simulator.base_url, api_key=Secret(TEST_API_KEY), sync_enabled=True,
                    pms_hotel_id=pms_hotel_id)
    with transaction(session_factory) as session:
        shop = load_shop(session, cipher)
    simulator.store.generate_bookings(3, seed=1)
    retried: list[int] = []
    with QloAppsClient(shop.base_url, shop.api_key) as client:
        report = run_pull(PullDeps(engine=engine, session_factory=session_factory, client=client, shop=shop,
                                   retry_booking=retried.append), kind="full")
    # Then the run fails naming the problem, and no booking is sent to its own retry
    assert report.status == "failed" and "UnknownHotel" in (report.error or "")
    assert ("no hotel '99'" if pms_hotel_id else "--pms-hotel") in (report.error or "")
    assert retried == [] and report.counts["failed"] == 0
