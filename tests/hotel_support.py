"""Hotels of the PMS for tests of a shop's PMS hotel (issue 20 item 4)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from qlosync.pms import open_pms
from qlosync.pms.port import Hotel, PmsId
from tests.pms_desk import desk_for


def first_hotel(engine: Engine) -> Hotel:
    """The hotel the PMS starts with (the built-in's "1 (Default hotel)"), read through the port."""
    first = desk_for(engine).hotel_id
    with Session(engine) as session:
        return next(hotel for hotel in open_pms(session).hotels() if hotel.id == first)


def one_hotel(engine: Engine) -> str:
    """How the errors name the hotel the PMS starts with: "ID (name)"."""
    hotel = first_hotel(engine)
    return f"{hotel.id} ({hotel.name})"


def second_hotel(engine: Engine, name: str = "B") -> PmsId:
    """Another hotel, added at the PMS's front desk as its staff would (the built-in PMS: plain SQL,
    ``INSERT INTO pms_hotels (name) VALUES ('B') RETURNING id``); its id as the PMS writes it."""
    return desk_for(engine).add_hotel(name)
