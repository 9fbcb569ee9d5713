"""Every PMS adapter has a front desk for the shared suites, and the desk follows the engine's adapter."""

from __future__ import annotations

from sqlalchemy import create_engine

from qlosync.pms import ADAPTERS, PMS_OPTION
from tests.hms.desk import DEFAULT_HOTEL, HmsDesk
from tests.pms_desk import DESKS, BuiltinDesk, desk_for


def test_every_adapter_has_a_desk():
    assert set(ADAPTERS) <= set(DESKS)


def test_the_desk_is_the_engines_adapters_at_the_hotel_asked_for():
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", execution_options={PMS_OPTION: "builtin"})
    desk = desk_for(engine, "7")
    assert isinstance(desk, BuiltinDesk) and desk.hotel_id == "7"
    assert desk_for(engine).hotel_id == "1"


def test_the_hotelmanangement_desk_starts_at_that_pms_default_hotel():
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                           execution_options={PMS_OPTION: "hotelmanangement"})
    desk = desk_for(engine)
    assert isinstance(desk, HmsDesk) and desk.hotel_id == DEFAULT_HOTEL == "00000000-0000-0000-0000-000000000000"
    other = "11111111-1111-1111-1111-111111111111"
    assert desk_for(engine, other).hotel_id == other
