"""Every PMS adapter has a front desk for the shared suites, and the desk follows the engine's adapter."""

from __future__ import annotations

from sqlalchemy import create_engine

from qlosync.pms import ADAPTERS, PMS_OPTION
from tests.pms_desk import DESKS, BuiltinDesk, desk_for


def test_every_adapter_has_a_desk():
    assert set(DESKS) == set(ADAPTERS)


def test_the_desk_is_the_engines_adapters_at_the_hotel_asked_for():
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", execution_options={PMS_OPTION: "builtin"})
    desk = desk_for(engine, "7")
    assert isinstance(desk, BuiltinDesk) and desk.hotel_id == "7"
    assert desk_for(engine).hotel_id == "1"
