"""The PMS side of the sync: the hotel's property management system, as qlosync reads and writes it.

Sync code reaches a PMS only through the port (:mod:`qlosync.pms.port`): :func:`open_pms` gives the
adapter chosen by ``QLOSYNC_PMS`` over a session, and :func:`shop_hotel` the one hotel a shop syncs.
The built-in PMS (``qlosync.pms.builtin``: the ``pms_*`` tables in ``public``) is the default adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from qlosync.errors import ConfigurationError
from qlosync.pms.port import Hotel, HotelPms, Pms, PmsId

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The adapters, by the name QLOSYNC_PMS gives: "module:class", imported when first opened.
ADAPTERS: dict[str, str] = {"builtin": "qlosync.pms.builtin.adapter:BuiltinPms",
                            "hotelmanangement": "qlosync.pms.hotelmanangement.adapter:HmsPms"}
DEFAULT_PMS = "builtin"
#: The engine execution option that carries QLOSYNC_PMS (qlosync.db.session.make_engine sets it).
PMS_OPTION = "qlosync_pms"


class UnknownHotel(ConfigurationError):
    """The PMS has no hotel with that id, or a shop names none and the PMS has several."""


def imported(spec: str) -> Any:
    """What a registry entry ``"module:attribute"`` names, imported only now (``qlosync --help`` stays light)."""
    module_name, attribute = spec.split(":")
    return getattr(import_module(module_name), attribute)


def open_pms(session: Session, kind: str | None = None) -> Pms:
    """The PMS adapter over *session* (its writes commit with the caller's transaction)."""
    name = kind or session.get_bind().get_execution_options().get(PMS_OPTION) or DEFAULT_PMS
    if name not in ADAPTERS:
        raise ConfigurationError(f"no PMS adapter {name!r} (QLOSYNC_PMS: {', '.join(sorted(ADAPTERS))})")
    adapter: Pms = imported(ADAPTERS[name])(session)
    return adapter


#: An error names at most this many of the PMS's hotels (a chain may have hundreds).
HOTELS_NAMED = 20


def known_hotels(hotels: Sequence[Hotel]) -> str:
    """``1 (Default hotel), 2 (B)``, cut after :data:`HOTELS_NAMED`."""
    named = ", ".join(f"{h.id} ({h.name})" for h in hotels[:HOTELS_NAMED]) or "none"
    more = len(hotels) - HOTELS_NAMED
    return f"{named} and {more} more" if more > 0 else named


def only_hotel_id(hotels: Sequence[Hotel]) -> PmsId | None:
    """The hotel a shop that names none syncs with: the PMS's only one (None when it has none or several)."""
    return hotels[0].id if len(hotels) == 1 else None


def default_hotel_id(pms: Pms) -> PmsId:
    """The hotel of a PMS that has exactly one (what a shop that names none syncs with)."""
    hotels = pms.hotels()
    only = only_hotel_id(hotels)
    if only is None:
        raise UnknownHotel(f"the PMS has {len(hotels)} hotels ({known_hotels(hotels)}): give the shop one with "
                           "`qlosync shops set NAME --pms-hotel ID`")
    return only


def shop_hotel(pms: Pms, pms_hotel_id: PmsId | None) -> HotelPms:
    """The PMS hotel a shop syncs with: the one it names, else the PMS's only hotel."""
    return pms.hotel(pms_hotel_id if pms_hotel_id is not None else default_hotel_id(pms))


__all__ = ["ADAPTERS", "DEFAULT_PMS", "HOTELS_NAMED", "HotelPms", "Pms", "PmsId", "UnknownHotel", "default_hotel_id",
           "known_hotels", "only_hotel_id", "open_pms", "shop_hotel"]
