"""Hotels of the built-in PMS for tests of a shop's PMS hotel (issue 20 item 4)."""

from __future__ import annotations

from sqlalchemy import Engine, text

#: How the errors name the hotel every database starts with (migration 0011).
ONE_HOTEL = "1 (Default hotel)"


def second_hotel(engine: Engine, name: str = "B") -> str:
    """Another hotel of the built-in PMS, by plain SQL as an integration would add it; its id as text."""
    with engine.begin() as connection:
        return str(connection.scalar(text("INSERT INTO pms_hotels (name) VALUES (:name) RETURNING id"),
                                     {"name": name}))
