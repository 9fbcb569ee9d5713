"""Hotels of the PMS for tests of a shop's PMS hotel (issue 20 item 4)."""

from __future__ import annotations

from sqlalchemy import Engine

from qlosync.pms.port import PmsId
from tests.pms_desk import desk_for

#: How the errors name the hotel every built-in PMS starts with (migration 0011).
ONE_HOTEL = "1 (Default hotel)"


def second_hotel(engine: Engine, name: str = "B") -> PmsId:
    """Another hotel, added at the PMS's front desk as its staff would (the built-in PMS: plain SQL,
    ``INSERT INTO pms_hotels (name) VALUES ('B') RETURNING id``); its id as the PMS writes it."""
    return desk_for(engine).add_hotel(name)
