"""``qlosync adopt``: take over from the hotelmanangement PMS's TypeScript QloApps workers.

For each hotel with a row in the PMS's ``public.qloapps_config``: a qlosync shop bound to that hotel (named
from it, with the workers' address, QloApps hotel, sync switch and API key, re-encrypted with
QLOSYNC_SECRET_KEY), then the workers' mappings in qlosync's mapping tables of that shop (room types, rooms,
customers, reservations: :mod:`.catalog`, :mod:`.reservations`). The PMS's tables are only read.

Each hotel is adopted in a transaction of its own, after the one QloApps question it needs (which orders
hold the room_bookings the workers' pull recorded), so no lock is held during a request. Adopting twice adds
nothing; a dry run does the same work and rolls it back, so it reports exactly what a real run would do.
The API keys appear in no report line, log line or error.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from qlosync import fields
from qlosync.crypto import KeyCipher
from qlosync.fields import InvalidValueError
from qlosync.ops.adopt.catalog import adopt_customers, adopt_room_types, adopt_rooms
from qlosync.ops.adopt.report import AdoptReport, HotelAdoption
from qlosync.ops.adopt.reservations import Resolution, adopt_reservations, resolve, room_booking_ids
from qlosync.ops.adopt.shop import adopted_shop
from qlosync.pms.hotelmanangement.takeover import HotelTakeover, api_key, read_takeover
from qlosync.pms.hotelmanangement.workers_key import ENV_VARIABLE, MasterKey, UndecryptableKeyError, master_key
from qlosync.qloapps.client import QloAppsClient
from qlosync.secrets import Secret
from qlosync.settings import Settings

PMS_NAME = "hotelmanangement"

__all__ = ["AdoptReport", "HotelAdoption", "adopt"]


def adopt(settings: Settings, session_factory: sessionmaker[Session], *, encryption_key: str | None,
          node_env: str | None = None, dry_run: bool = False) -> AdoptReport:
    """Adopt every hotel the workers synced; *encryption_key* is the PMS's ENCRYPTION_KEY (None: not set)."""
    cipher = KeyCipher(settings.require_secret_key())
    master = master_key(encryption_key, node_env=node_env)
    with session_factory() as session:
        takeovers = read_takeover(session)
    report = AdoptReport(dry_run=dry_run)
    for takeover in takeovers:
        report.hotels.append(_adopt_hotel(settings, session_factory, cipher, master, takeover, dry_run))
    if master.dev and takeovers:
        report.notes.append(f"{ENV_VARIABLE} is not set: the API keys were decrypted with the TypeScript workers' "
                            "development key (theirs when ENCRYPTION_KEY was not set outside production)")
    if settings.pms != PMS_NAME and report.adopted_any:
        report.notes.append(f"QLOSYNC_PMS is {settings.pms!r}: the adopted shops sync only with "
                            f"QLOSYNC_PMS={PMS_NAME}")
    return report


def _adopt_hotel(settings: Settings, session_factory: sessionmaker[Session], cipher: KeyCipher, master: MasterKey,
                 takeover: HotelTakeover, dry_run: bool) -> HotelAdoption:
    config = takeover.config
    outcome = HotelAdoption(config.hotel_id, config.hotel_name)
    what = "the workers' settings"
    if config.hotel_deleted:
        outcome.refuse(what, "the hotel is deleted in the PMS")
        return outcome
    try:
        base_url = fields.base_url(config.base_url, allow_link_local=settings.allow_link_local_urls)
    except InvalidValueError as exc:
        outcome.refuse(what, f"their base URL cannot be used: {exc}")
        return outcome
    try:
        qloapps_hotel_id = fields.hotel_id(config.qloapps_hotel_id if config.qloapps_hotel_id is not None else 0)
    except InvalidValueError as exc:
        outcome.refuse(what, f"their QloApps hotel cannot be used: {exc}")
        return outcome
    try:
        key = fields.api_key(api_key(config, master))
    except UndecryptableKeyError as exc:
        outcome.refuse(what, f"their API key cannot be decrypted: {exc}")
        return outcome
    except InvalidValueError as exc:
        outcome.refuse(what, f"their API key is not a QloApps key: {exc}")
        return outcome
    resolution = _resolution(settings, base_url, key, takeover, qloapps_hotel_id)
    with session_factory() as session:
        try:
            shop = adopted_shop(session, cipher, config, base_url=base_url, qloapps_hotel_id=qloapps_hotel_id,
                                api_key=key, allow_link_local_urls=settings.allow_link_local_urls, outcome=outcome)
            if shop is not None:
                room_types = adopt_room_types(session, shop.id, qloapps_hotel_id, takeover.room_types, outcome)
                adopt_rooms(session, shop.id, qloapps_hotel_id, room_types, takeover.rooms, outcome)
                adopt_customers(session, shop.id, qloapps_hotel_id, takeover.customers, outcome)
                adopt_reservations(session, shop.id, config.hotel_id, qloapps_hotel_id, takeover.reservations,
                                   resolution, outcome)
                session.flush()
            if dry_run or shop is None:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
    outcome.problems = [_without(key, problem) for problem in outcome.problems]
    return outcome


def _resolution(settings: Settings, base_url: str, key: Secret, takeover: HotelTakeover,
                qloapps_hotel_id: int) -> Resolution:
    ids = room_booking_ids(takeover.reservations, qloapps_hotel_id)
    if not ids:
        return Resolution()
    with QloAppsClient(base_url, key, connect_timeout=settings.http_connect_timeout_s,
                       read_timeout=settings.http_read_timeout_s) as client:
        return resolve(client, ids)


def _without(key: Secret, line: str) -> str:
    # No message is built from the key; this only makes sure an error QloApps echoed cannot carry it out.
    return line.replace(key.reveal(), "********")
