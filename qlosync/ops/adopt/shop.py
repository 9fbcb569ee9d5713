"""The qlosync shop of an adopted PMS hotel: found again on a later run, created on the first.

A shop is the hotel's when it is bound to it (``pms_hotel_id``) with the workers' address, QloApps hotel and
key. Anything else that would make two shops sync one QloApps hotel, or change a shop an operator set up, is
refused and reported: adopting never changes an existing shop.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from qlosync import fields
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import save_config
from qlosync.db.models import QloAppsConfig
from qlosync.errors import SecretKeyError
from qlosync.ops.adopt.report import HotelAdoption
from qlosync.pms.hotelmanangement.takeover import WorkersConfig
from qlosync.secrets import Secret

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
NAME_LENGTH = 64


def shop_name_for(hotel_name: str, hotel_id: str) -> str:
    """A shop name (qlosync.fields.shop_name) made from the hotel's: ``Seaside Inn`` -> ``seaside-inn``."""
    slug = _NOT_IN_NAME.sub("-", hotel_name.strip().lower()).strip("-_.")
    return slug[:NAME_LENGTH].rstrip("-_.") or f"hotel-{hotel_id[:8]}"


def _free_name(session: Session, wanted: str) -> str:
    taken = set(session.scalars(select(QloAppsConfig.name).where(
        or_(QloAppsConfig.name == wanted, QloAppsConfig.name.like(f"{wanted[:NAME_LENGTH - 4]}-%")))))
    if wanted not in taken:
        return wanted
    number = 2
    while (name := f"{wanted[:NAME_LENGTH - len(str(number)) - 1]}-{number}") in taken:
        number += 1
    return name


def adopted_shop(session: Session, cipher: KeyCipher, config: WorkersConfig, *, base_url: str, qloapps_hotel_id: int,
                 api_key: Secret, allow_link_local_urls: bool, outcome: HotelAdoption) -> QloAppsConfig | None:
    """The hotel's shop: the one an earlier run made, else a new one; None (with the reason on *outcome*)
    when another shop stands in the way."""
    candidates = session.scalars(select(QloAppsConfig).where(or_(
        QloAppsConfig.pms_hotel_id == config.hotel_id,
        (QloAppsConfig.base_url == base_url) & (QloAppsConfig.id_hotel == qloapps_hotel_id)))
        .order_by(QloAppsConfig.id)).all()
    for row in candidates:
        if row.pms_hotel_id == config.hotel_id and row.base_url == base_url and row.id_hotel == qloapps_hotel_id:
            try:
                same_key = cipher.decrypt(row.api_key_encrypted) == api_key
            except SecretKeyError:
                outcome.refuse(f"shop {row.name!r}", "already bound to this hotel, and its stored API key cannot be "
                                                     "decrypted with QLOSYNC_SECRET_KEY to compare it")
                return None
            if not same_key:
                outcome.refuse(f"shop {row.name!r}", "already bound to this hotel with the same address and QloApps "
                                                     "hotel but another API key; left as it is")
                return None
            outcome.shop = row.name
            return row
    for row in candidates:
        if row.pms_hotel_id == config.hotel_id:
            outcome.refuse(f"shop {row.name!r}", "already bound to this hotel with other settings (base URL or "
                                                 "QloApps hotel); left as it is")
        else:
            bound = f"PMS hotel {row.pms_hotel_id}" if row.pms_hotel_id is not None else "no PMS hotel"
            outcome.refuse(f"shop {row.name!r}", f"already syncs this QloApps hotel ({bound}): a second shop would "
                                                 "sync it twice")
    if candidates:
        return None
    name = _free_name(session, shop_name_for(config.hotel_name, config.hotel_id))
    row = save_config(session, cipher, name=fields.shop_name(name), base_url=base_url, api_key=api_key,
                      sync_enabled=config.sync_enabled, id_hotel=qloapps_hotel_id, pms_hotel_id=config.hotel_id,
                      allow_link_local_urls=allow_link_local_urls)
    outcome.shop, outcome.shop_created = row.name, True
    outcome.shop_summary = (f"{row.base_url}, QloApps hotel {row.id_hotel}, "
                            f"sync {'on' if row.sync_enabled else 'off'}")
    return row
