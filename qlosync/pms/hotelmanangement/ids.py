"""The hotelmanangement PMS's ids on the port: its uuids as text, and the port's line ids ``"<reservation>#<k>"``.

An id is taken only as that PMS writes it (lower-case, hyphenated: what PostgreSQL prints for a uuid), so that
two spellings never name one row and text that is no uuid never reaches a ``uuid`` parameter (PostgreSQL
would refuse the whole statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from qlosync.errors import PermanentError

LINE_SEPARATOR = "#"


class NotInHotel(PermanentError):
    """A hotel, room type, room, guest, reservation or line that the hotel written to does not have."""


def as_uuid(pms_id: str | None) -> str | None:
    """The id if it is a uuid written as that PMS writes it, else None (it names no row)."""
    if not pms_id:
        return None
    try:
        canonical = str(uuid.UUID(pms_id))
    except ValueError:
        return None
    return canonical if canonical == pms_id else None


def as_uuids(pms_ids: Iterable[str | None]) -> list[str]:
    """The ids that can name a row, each once, in order (the others match nothing)."""
    return list(dict.fromkeys(u for u in map(as_uuid, pms_ids) if u is not None))


def new_id() -> str:
    # Made here rather than by the column default: a page's rows are written by executemany without RETURNING.
    return str(uuid.uuid4())


def line_id(reservation_id: str, k: int) -> str:
    """The port's id of unit *k* (1-based) of a PMS reservation."""
    return f"{reservation_id}{LINE_SEPARATOR}{k}"


def parse_line_id(pms_line_id: str) -> tuple[str, int] | None:
    """(reservation id, k) of a line id, or None when it names no line of that PMS."""
    reservation, separator, number = pms_line_id.rpartition(LINE_SEPARATOR)
    if not separator or as_uuid(reservation) is None or not (number.isascii() and number.isdigit()):
        return None
    k = int(number)
    # "1", never "01": one spelling per line, as for reservation ids.
    return (reservation, k) if k >= 1 and str(k) == number else None
