"""Two shops bound to two PMS hotels with the same catalog: a PMS reservation of hotel B reaches shop B only, and a
reservation of hotel A changes nothing of what shop B sells (availability per hotel; issue 20 acceptance)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import ShopConfig, load_shop, save_config
from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.simulator import ShopSim, Simulator
from qlosync.runtime.context import Runtime
from qlosync.secrets import Secret
from qlosync.sync.inbound.catalog import import_catalog
from qlosync.sync.outbound.jobs import push, push_availability_job
from tests.conftest import TEST_API_KEY
from tests.integration.ari_support import ROOMS
from tests.outbound_fixtures import pms_room_type, stay
from tests.pms_desk import FrontDesk, desk_for


@pytest.fixture
def two_hotels(simulator: Simulator, engine: Any, session_factory: Any,
               secret_key: Secret) -> Iterator[list[tuple[ShopSim, ShopConfig, FrontDesk]]]:
    """Shops north (the PMS's first hotel) and south (a second hotel), each with the simulator's demo catalog
    imported into its own hotel."""
    north_desk = desk_for(engine)
    desks = [north_desk, north_desk.at(north_desk.add_hotel("South hotel"))]
    cipher = KeyCipher(secret_key)
    out = []
    for sim_shop, desk in zip(simulator.add_shops(["north", "south"]), desks, strict=True):
        with transaction(session_factory) as session:
            save_config(session, cipher, name=sim_shop.name, base_url=sim_shop.base_url, api_key=Secret(TEST_API_KEY),
                        sync_enabled=True)
            session.execute(update(QloAppsConfig).where(QloAppsConfig.name == sim_shop.name)
                            .values(pms_hotel_id=desk.hotel_id))
        with transaction(session_factory) as session:
            config = load_shop(session, cipher, sim_shop.name)
        with QloAppsClient(config.base_url, config.api_key) as client, transaction(session_factory) as session:
            import_catalog(session, client, config)
        out.append((sim_shop, config, desk))
    yield out


def _orders(sim_shop: ShopSim) -> list[int]:
    """The orders qlosync pushed to a shop (its token in the source)."""
    return sorted(i for i, o in sim_shop.store.table("orders").items() if "[qlosync:" in str(o["source"]))


def _room_type(session_factory: Any, config: ShopConfig, qloapps_room_type: int) -> str:
    with transaction(session_factory) as session:
        return pms_room_type(session, config.id, qloapps_room_type)


def test_each_hotels_reservation_reaches_its_own_shop_only(two_hotels, settings, engine, session_factory):
    (north, north_config, north_desk), (south, south_config, south_desk) = two_hotels
    runtime = Runtime(settings, engine, session_factory)
    checkin, checkout = stay(30)
    # Given a reservation of each hotel, on the same QloApps room type and nights
    in_south = south_desk.reservation(room_type_id=_room_type(session_factory, south_config, 1), checkin=checkin,
                                      checkout=checkout, first="Sol", last="South", email="sol@example.com")
    # When it is pushed (the shop found from its hotel, no room-type join)
    [pushed] = push(runtime, in_south)
    # Then it is in the south shop only
    assert pushed.action == "created" and _orders(south) == [pushed.qloapps_order_id] and _orders(north) == []
    # And the north reservation goes to the north shop only
    in_north = north_desk.reservation(room_type_id=_room_type(session_factory, north_config, 1), checkin=checkin,
                                      checkout=checkout, first="Nora", last="North", email="nora@example.com")
    [other] = push(runtime, in_north)
    assert other.action == "created" and _orders(north) == [other.qloapps_order_id]
    assert _orders(south) == [pushed.qloapps_order_id]


def test_a_reservation_of_one_hotel_changes_nothing_of_what_the_other_shop_sells(
        two_hotels, settings, engine, session_factory):
    (north, north_config, north_desk), (south, south_config, south_desk) = two_hotels
    runtime = Runtime(settings, engine, session_factory)
    night = stay(40)[0]
    north_std, south_std = (_room_type(session_factory, c, 1) for c in (north_config, south_config))
    # Given the same night closed in both hotels, and a north guest staying that night
    north_desk.close_night(north_std, night)
    south_desk.close_night(south_std, night)
    [guest] = push(runtime, north_desk.reservation(room_type_id=north_std, checkin=night,
                                                   checkout=night + timedelta(days=1)))
    assert guest.action == "created"
    # When each hotel's availability is pushed
    [north_held] = push_availability_job(runtime, north_std, night, night)
    [south_held] = push_availability_job(runtime, south_std, night, night)
    # Then the north shop holds the rooms its guest leaves free, and the south shop all of its own
    assert north_held.held == {night: ROOMS - 1} and south_held.held == {night: ROOMS}
    assert not north_held.short and not south_held.short
