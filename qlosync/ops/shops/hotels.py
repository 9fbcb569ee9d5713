"""Which PMS hotel a shop syncs with: checking a ``pms_hotel_id`` an operator gives against the PMS, and
saying which hotel a stored one (or none) means.

``qloapps_config.pms_hotel_id`` is the PMS's own id (opaque text); NULL means "the PMS's only hotel", which
works while the PMS has one. Every writer (``shops add/set``, ``config set``, the CSV import, the API)
checks a new id here, so an id the PMS does not have is refused with the hotels it does have.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from qlosync.fields import API_KEY_LENGTH
from qlosync.pms import UnknownHotel, known_hotels, only_hotel_id, open_pms
from qlosync.pms.port import Hotel, PmsId
from qlosync.secrets import mask

#: What clears a shop's PMS hotel: ``--pms-hotel ''`` (the API's null becomes this too).
CLEAR = ""


class UnknownPmsHotelError(UnknownHotel):
    """A ``pms_hotel_id`` given for a shop that the PMS has no hotel with (the API answers 422)."""


def pms_hotels(session: Session) -> list[Hotel]:
    return open_pms(session).hotels()


def _shown(value: str) -> str:
    # Shaped like an API key, it may be one (a CSV whose columns slipped): masked like `config show` masks keys.
    # A PMS's own ids may be longer (a uuid has 36 characters) and are shown whole.
    return repr(mask(value) if _could_be_an_api_key(value) else value)


def _could_be_an_api_key(value: str) -> bool:
    return len(value) == API_KEY_LENGTH and all("!" <= c <= "~" for c in value)


def check_pms_hotel(hotels: Sequence[Hotel], pms_hotel_id: str) -> PmsId | None:
    """What to store for a given id: None for :data:`CLEAR`, else the id if the PMS has that hotel.

    Ids are compared as the PMS writes them (``"2"``, not ``" 2"`` nor ``"02"``): they are opaque.
    """
    if pms_hotel_id == CLEAR:
        return None
    if any(h.id == pms_hotel_id for h in hotels):
        return pms_hotel_id
    raise UnknownPmsHotelError(f"the PMS has no hotel {_shown(pms_hotel_id)} (its hotels: {known_hotels(hotels)}); "
                               "the PMS hotel must be one of these ids")


def effective_hotel(hotels: Sequence[Hotel], pms_hotel_id: PmsId | None) -> PmsId | None:
    """The hotel a shop syncs with: the one it names (if the PMS has it), else the PMS's only hotel, else None."""
    if pms_hotel_id is not None:
        return pms_hotel_id if any(h.id == pms_hotel_id for h in hotels) else None
    return only_hotel_id(hotels)


def hotel_problem(hotels: Sequence[Hotel], pms_hotel_id: PmsId | None, shop: str) -> str | None:
    """Why the shop cannot sync with any PMS hotel (None: it can), in words that say what to do."""
    if effective_hotel(hotels, pms_hotel_id) is not None:
        return None
    if not hotels:
        return "the PMS has no hotel"
    fix = f"`qlosync shops set {shop} --pms-hotel ID`"
    if pms_hotel_id is not None:
        return f"PMS hotel {_shown(pms_hotel_id)} is not in the PMS (hotels: {known_hotels(hotels)}): set another " \
               f"with {fix}"
    return f"no PMS hotel set, and the PMS has {len(hotels)} (hotels: {known_hotels(hotels)}): set one with {fix}"
