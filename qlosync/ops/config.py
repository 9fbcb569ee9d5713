"""A shop's QloApps settings: read (never the key), change, and check against QloApps itself.

The API key goes in and never comes out: :class:`ShopSettings` only says whether one is stored, and the
connection check words its findings itself instead of passing on what a server answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from qlosync.crypto import KeyCipher
from qlosync import fields
from qlosync.db.config_store import describe, find_config, get_config_row, require_key_for_new_url, save_config
from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from qlosync.ops.shops.hotels import check_pms_hotel, effective_hotel, pms_hotels
from qlosync.pms.port import Hotel
from qlosync.sync.service import load_shop_config
from qlosync.qloapps.client import QloAppsClient, api_root
from qlosync.qloapps.errors import (
    QloAppsAuthError,
    QloAppsConnectionError,
    QloAppsError,
    QloAppsServerError,
    QloAppsTimeout,
)
from qlosync.secrets import Secret, without_credentials
from qlosync.settings import Settings

#: Every webservice resource qlosync reads or writes; a key without one of them breaks some part of sync.
USED_RESOURCES = ("bookings", "customers", "orders", "room_bookings", "hotels", "room_types", "hotel_rooms",
                  "currencies", "feature_prices", "hotel_ari")

#: What a connection check can find wrong (``None``: nothing).
PROBLEMS = ("cannot_connect", "not_qloapps", "key_refused", "missing_permission", "qloapps_failed", "unknown_hotel")


@dataclass(frozen=True)
class ShopSettings:
    """A shop's settings as anyone may see them: the key only as "is one stored"."""

    name: str
    base_url: str
    api_key_set: bool
    sync_enabled: bool
    hotel_id: int
    #: The PMS hotel as set (None: the PMS's only hotel), and the one it does sync with (None: there is none).
    pms_hotel_id: str | None
    effective_pms_hotel_id: str | None
    conflict_strategy: str
    updated_at: datetime | None


@dataclass(frozen=True)
class HotelSeen:
    id: int
    name: str


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of talking to QloApps with a URL and key, in words an operator can act on."""

    ok: bool
    problem: str | None
    message: str
    api_url: str
    resources: list[str] = field(default_factory=list)
    hotels: list[HotelSeen] = field(default_factory=list)
    room_types: int | None = None


def _public(row: QloAppsConfig, hotels: list[Hotel]) -> ShopSettings:
    return ShopSettings(name=row.name, base_url=without_credentials(row.base_url),
                        api_key_set=bool(row.api_key_encrypted), sync_enabled=row.sync_enabled, hotel_id=row.id_hotel,
                        pms_hotel_id=row.pms_hotel_id, effective_pms_hotel_id=effective_hotel(hotels, row.pms_hotel_id),
                        conflict_strategy=row.conflict_strategy, updated_at=row.updated_at)


def read_settings(session: Session, name: str) -> ShopSettings:
    return _public(get_config_row(session, name), pms_hotels(session))


def describe_masked(settings: Settings, session: Session, name: str) -> dict[str, object]:
    """What ``qlosync config show`` prints: the key masked to its last characters (when it can be decrypted),
    and the PMS hotel the shop syncs with (its own, or the PMS's only one)."""
    cipher = KeyCipher(settings.secret_key) if settings.secret_key else None
    row = get_config_row(session, name)
    shown = describe(row, cipher)
    shown["effective_pms_hotel_id"] = effective_hotel(pms_hotels(session), row.pms_hotel_id)
    return shown


def save_settings(
    settings: Settings,
    session: Session,
    *,
    name: str,
    base_url: str | None = None,
    api_key: Secret | None = None,
    sync_enabled: bool | None = None,
    hotel_id: int | None = None,
    conflict_strategy: str | None = None,
    pms_hotel_id: str | None = None,
) -> ShopSettings:
    """Create or update a shop; only the given fields change. Storing a key needs QLOSYNC_SECRET_KEY.

    *pms_hotel_id* must be a hotel of the PMS (UnknownPmsHotelError names those there are); ``""`` clears it."""
    hotels = pms_hotels(session)
    if pms_hotel_id is not None:
        check_pms_hotel(hotels, pms_hotel_id)
    if api_key is not None:
        cipher: KeyCipher | None = KeyCipher(settings.require_secret_key())
    else:
        cipher = KeyCipher(settings.secret_key) if settings.secret_key else None
    row = save_config(session, cipher, name=name, base_url=base_url, api_key=api_key, sync_enabled=sync_enabled,
                      id_hotel=hotel_id, conflict_strategy=conflict_strategy, pms_hotel_id=pms_hotel_id,
                      allow_link_local_urls=settings.allow_link_local_urls)
    return _public(row, hotels)


def check_connection(settings: Settings, sessions: sessionmaker[Session], name: str, *,
                     base_url: str | None = None, api_key: Secret | None = None) -> ConnectionCheck:
    """Try the stored (or the given) URL and key against QloApps and say what works and what does not.

    Another URL than the stored one needs a key given with it (KeyNeededForNewUrlError otherwise)."""
    hotel_id: int | None = None
    # A URL given only for the check is held to the rule of a stored one: this request goes out from here.
    if base_url is not None:
        base_url = fields.base_url(base_url, allow_link_local=settings.allow_link_local_urls)
    if api_key is not None:
        fields.api_key(api_key)
    if base_url is None or api_key is None:
        stored = load_shop_config(settings, sessions, name)
        if base_url is not None:
            require_key_for_new_url(stored.base_url, base_url, api_key)
        base_url = base_url if base_url is not None else stored.base_url
        api_key = api_key if api_key is not None else stored.api_key
        hotel_id = stored.id_hotel
    else:
        with transaction(sessions) as session:
            row = find_config(session, name)
            hotel_id = row.id_hotel if row is not None else None
    api_url = api_root(base_url)
    with QloAppsClient(base_url, api_key, connect_timeout=settings.http_connect_timeout_s,
                       read_timeout=settings.http_read_timeout_s) as client:
        try:
            resources = client.ping()
        except QloAppsError as exc:
            problem, message = _explain(api_url, exc)
            return ConnectionCheck(ok=False, problem=problem, message=message, api_url=api_url)
        missing = [r for r in USED_RESOURCES if r not in resources]
        if missing:
            return ConnectionCheck(
                ok=False, problem="missing_permission", api_url=api_url, resources=resources,
                message=f"QloApps accepted the API key, but the key may not use: {', '.join(missing)} "
                        "(allow them for this key in QloApps under Advanced Parameters > Webservice)")
        try:
            hotels = [HotelSeen(h.id, h.name) for h in client.get_hotels()]
            room_types = client.get_room_types()
        except QloAppsError as exc:
            problem, message = _explain(api_url, exc)
            return ConnectionCheck(ok=False, problem=problem, message=message, api_url=api_url, resources=resources)
    known = ", ".join(f"{h.id} ({h.name})" for h in hotels) or "none"
    if hotel_id is not None and hotel_id not in {h.id for h in hotels}:
        return ConnectionCheck(ok=False, problem="unknown_hotel", api_url=api_url, resources=resources, hotels=hotels,
                               message=f"the URL and key work, but QloApps has no hotel {hotel_id} "
                                       f"(hotels: {known}); set id_hotel to one of them")
    ours = [t for t in room_types if hotel_id is None or t.id_hotel in (None, hotel_id)]
    where = f"hotel {hotel_id}" if hotel_id is not None else "QloApps"
    return ConnectionCheck(ok=True, problem=None, api_url=api_url, resources=resources, hotels=hotels,
                           room_types=len(ours),
                           message=f"connected to QloApps at {api_url}: the key may use {len(resources)} resources, "
                                   f"including all {len(USED_RESOURCES)} qlosync needs; hotels: {known}; "
                                   f"{where} has {len(ours)} room types")


def _explain(api_url: str, exc: QloAppsError) -> tuple[str, str]:
    """(problem, plain words) for a failed call; never repeats the server's body, which could echo the key."""
    status = f"HTTP {exc.status}" if exc.status is not None else "no HTTP status"
    if isinstance(exc, QloAppsTimeout):
        if "connect timeout" in str(exc):
            return "cannot_connect", f"cannot connect to {api_url}: no answer within the connect timeout"
        return "cannot_connect", f"connected to {api_url}, but it did not answer within the read timeout"
    if isinstance(exc, QloAppsConnectionError):
        return "cannot_connect", (f"cannot connect to {api_url}: nothing answers there "
                                  "(wrong host or port, or the shop is down)")
    if isinstance(exc, QloAppsAuthError):
        if exc.status is None:  # the key got in, but the API root did not list what qlosync needs
            return "missing_permission", f"QloApps accepted the API key, but {exc}"
        return "key_refused", (f"{api_url} refused the API key ({status}): the key is wrong, not active, or "
                               "the webservice is switched off in QloApps (Advanced Parameters > Webservice)")
    if isinstance(exc, QloAppsServerError):
        return "qloapps_failed", f"{api_url} failed ({status}): QloApps itself has a problem; look at its error log"
    return "not_qloapps", (f"{api_url} answered, but not like a QloApps webservice ({status}, {type(exc).__name__}): "
                           "check the URL (the shop's address, without /api)")

