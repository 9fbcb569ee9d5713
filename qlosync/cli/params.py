"""Click parameter types over :mod:`qlosync.fields`: a bad value is a one-line usage error (exit 2) before the
command runs, so an id PostgreSQL cannot hold never reaches a query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import click

from qlosync import fields
from qlosync.cli.context import RET_USAGE, AliasedOption, CliError


T = TypeVar("T")


class FieldType(click.ParamType[T, "str | T"], Generic[T]):
    """A value checked by one of qlosync.fields' functions."""

    def __init__(self, name: str, check: Callable[[str], T]) -> None:
        self.name = name
        self._check = check

    def convert(self, value: str | T, param: click.Parameter | None, ctx: click.Context | None) -> T:
        if not isinstance(value, str):  # a default, already canonical
            return value
        try:
            return self._check(value)
        except fields.InvalidValueError as exc:
            # click's own usage errors print the usage and a hint first; this is one line, as the README promises.
            raise CliError(str(exc), RET_USAGE) from None


def positive_id(what: str) -> FieldType[int]:
    """An id of a row (reservation, conflict, QloApps room type): 1 to 2,147,483,647."""
    return FieldType("id", lambda value: fields.positive_int32(value, f"the {what} id"))


HOTEL_ID = FieldType("hotel_id", fields.hotel_id)
#: The one spelling of the hotel id, as in the CSV column and the API: ``--id-hotel N``. ``--hotel-id`` was
#: ``qlosync config set``'s; it stays accepted (left out of --help) so that scripts written for it keep working.
hotel_id_option = click.option("--id-hotel", "--hotel-id", "id_hotel", cls=AliasedOption, type=HOTEL_ID,
                               help="QloApps hotel (id_property) this PMS is.")
MAX_CONCURRENT = FieldType("count", fields.max_concurrent_requests)
MAX_RPS = FieldType("rate", fields.max_requests_per_second)
PMS_ROOM_TYPE = FieldType("pms_room_type", fields.pms_room_type)
