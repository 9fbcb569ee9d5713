"""Room-type mappings over HTTP: list, set (parked bookings applied at once), refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qlosync.db.models import QloAppsReservationMapping, QloAppsRoomTypeMapping
from qlosync.db.session import transaction
from qlosync.sync.inbound.pull import run_pull
from tests.api.conftest import PREFIX
from tests.pms_desk import desk_for


def test_list_mappings(api, shop, mapped_catalog):
    response = api.get(f"{PREFIX}/mappings")
    assert response.status_code == 200, response.text
    mappings = response.json()["mappings"]
    assert [m["qloapps_room_type_id"] for m in mappings] == [1, 2, 3, 4]
    assert mappings[1]["qloapps_name"] == "Delux Rooms"
    assert mappings[1]["pms_room_type"]["code"] == f"QLO-{shop.id}-2"
    assert api.get(f"{PREFIX}/mappings", params={"shop": "nowhere"}).status_code == 404


def test_setting_a_mapping_applies_the_bookings_parked_for_it(api, simulator, deps, shop, mapped_catalog,
                                                               session_factory):
    # Given room type 4 unmapped, and a pull that parked its bookings
    with transaction(session_factory) as session:
        pms_type = session.scalars(select(QloAppsRoomTypeMapping.pms_room_type_id)
                                   .where(QloAppsRoomTypeMapping.qloapps_room_type_id == 4)).one()
        session.execute(QloAppsRoomTypeMapping.__table__.delete().where(QloAppsRoomTypeMapping.qloapps_room_type_id == 4))
    simulator.store.generate_bookings(40, seed=4)
    parked = {r["id_order"] for r in simulator.store.table("room_bookings").values() if r["id_product"] == 4}
    assert parked and run_pull(deps).counts["parked"] == len(parked)
    # When room type 4 is mapped again over HTTP (by the PMS room type's id)
    response = api.put(f"{PREFIX}/mappings/4", json={"pms_room_type": str(pms_type)})
    # Then the mapping is back and the parked bookings were applied
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mapping"]["qloapps_room_type_id"] == 4 and body["mapping"]["pms_room_type"]["id"] == pms_type
    assert body["parked"] == {"created": len(parked)} and body["parked_error"] is None
    with transaction(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(QloAppsReservationMapping).where(
            QloAppsReservationMapping.parked_reason.is_not(None))) == 0


def test_remapping_by_code(api, shop, mapped_catalog, engine):
    desk_for(engine).room_type("SUITE-NEW", "New suite")
    response = api.put(f"{PREFIX}/mappings/4", json={"pms_room_type": "SUITE-NEW"})
    assert response.status_code == 200, response.text
    assert response.json()["mapping"]["pms_room_type"]["code"] == "SUITE-NEW"
    assert response.json()["parked"] == {}
    listed = {m["qloapps_room_type_id"]: m["pms_room_type"]["code"] for m in api.get(f"{PREFIX}/mappings").json()["mappings"]}
    assert listed[4] == "SUITE-NEW"


def test_refusals(api, shop, mapped_catalog):
    unknown = api.put(f"{PREFIX}/mappings/1", json={"pms_room_type": "NOPE"})
    assert unknown.status_code == 409 and unknown.json() == {"detail": "no PMS room type with id or code 'NOPE'"}
    taken = api.put(f"{PREFIX}/mappings/1", json={"pms_room_type": f"QLO-{shop.id}-2"})
    assert taken.status_code == 409
    assert taken.json() == {"detail": f"PMS room type QLO-{shop.id}-2 is already mapped to QloApps room type 2"}
    assert api.put(f"{PREFIX}/mappings/1", json={"pms_room_type": "X", "shop": "nowhere"}).status_code == 404


@pytest.mark.parametrize("path,body", [
    ("/mappings/0", {"pms_room_type": "X"}), ("/mappings/2147483648", {"pms_room_type": "X"}),
    ("/mappings/one", {"pms_room_type": "X"}), ("/mappings/1", {}), ("/mappings/1", {"pms_room_type": 5}),
    ("/mappings/1", {"pms_room_type": ""}), ("/mappings/1", {"pms_room_type": "A\u0000B"}),
])
def test_bad_mapping_requests_are_422(api, shop, path, body):
    response = api.put(PREFIX + path, json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("pms_room_type", ["99999999999", "\u00b2"])
def test_a_pms_room_type_id_is_the_pms_s_text_and_one_it_does_not_have_is_named(api, shop, pms_room_type):
    # Ids are opaque (another PMS may key by long numbers or uuids): no integer rule, the PMS answers
    response = api.put(f"{PREFIX}/mappings/1", json={"pms_room_type": pms_room_type})
    assert response.status_code == 409, response.text  # as for any room type the PMS does not have
    assert response.json() == {"detail": f"no PMS room type with id or code {pms_room_type!r}"}
