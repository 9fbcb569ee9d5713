"""Adding, changing, switching and removing shops, each change checked against qlosync.fields first.

Used alike by `qlosync shops` and /api/v1/shops. The API key goes in and never comes out: errors give
lengths, listings say only whether a key is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from qlosync import fields
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import UnknownShopError, find_config, get_config_row, save_config
from qlosync.db.models import (
    QloAppsConfig,
    QloAppsReservationMapping,
    QloAppsRoomTypeMapping,
    QloAppsSyncLog,
    QloAppsSyncState,
)
from qlosync.errors import ConfigurationError
from qlosync.fields import InvalidValueError
from qlosync.ops.shops.hotels import check_pms_hotel, pms_hotels
from qlosync.secrets import Secret
from qlosync.settings import Settings


class DuplicateShopError(ConfigurationError):
    """A shop of that name already exists."""


class InvalidShopError(InvalidValueError):
    """A shop's settings break a rule (URL, key, limits, name...)."""


@dataclass(frozen=True)
class ShopChanges:
    """Settings to give a shop; None keeps what is stored."""

    base_url: str | None = None
    api_key: Secret | None = None
    enabled: bool | None = None
    id_hotel: int | None = None
    conflict_strategy: str | None = None
    max_concurrent_requests: int | None = None
    max_requests_per_second: float | None = None
    #: The PMS hotel's id; ``""`` clears it (the PMS's only hotel). Checked against the PMS, not by rule_problems.
    pms_hotel_id: str | None = None


def check_name(name: str) -> str:
    try:
        return fields.shop_name(name)
    except InvalidValueError as exc:
        raise InvalidShopError(str(exc)) from None


def rule_problems(changes: ShopChanges, *, allow_link_local: bool) -> tuple[ShopChanges, list[str]]:
    """The changes made canonical (URL normalised), and every rule they break (one line each, never the key
    nor the URL: either could have slipped into the wrong CSV column)."""
    problems: list[str] = []
    canonical: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], object]] = {
        "base_url": lambda url: fields.base_url(url, allow_link_local=allow_link_local),
        "api_key": fields.api_key, "id_hotel": fields.hotel_id, "conflict_strategy": fields.conflict_strategy,
        "max_concurrent_requests": fields.max_concurrent_requests,
        "max_requests_per_second": fields.max_requests_per_second}
    for attribute, check in checks.items():
        value = getattr(changes, attribute)
        if value is None:
            continue
        try:
            canonical[attribute] = check(value)
        except InvalidValueError as exc:
            problems.append(str(exc))
    return replace(changes, **canonical), problems


def _checked(session: Session, changes: ShopChanges, settings: Settings) -> ShopChanges:
    canonical, problems = rule_problems(changes, allow_link_local=settings.allow_link_local_urls)
    if problems:
        raise InvalidShopError("; ".join(problems))
    if changes.pms_hotel_id is not None:
        check_pms_hotel(pms_hotels(session), changes.pms_hotel_id)  # UnknownPmsHotelError naming the PMS's hotels
    return canonical


def save_changes(session: Session, settings: Settings, cipher: KeyCipher | None, name: str, changes: ShopChanges,
                 stored: QloAppsConfig | None) -> QloAppsConfig:
    """Already checked changes, through the one writer (config_store.save_config)."""
    return save_config(session, cipher, name=name, base_url=changes.base_url, api_key=changes.api_key,
                       sync_enabled=changes.enabled, id_hotel=changes.id_hotel,
                       conflict_strategy=changes.conflict_strategy,
                       max_concurrent_requests=changes.max_concurrent_requests,
                       max_requests_per_second=changes.max_requests_per_second,
                       pms_hotel_id=changes.pms_hotel_id, allow_link_local_urls=settings.allow_link_local_urls,
                       stored=stored)


def _cipher_for(settings: Settings, changes: ShopChanges) -> KeyCipher | None:
    return KeyCipher(settings.require_secret_key()) if changes.api_key is not None else None


def add_shop(session: Session, settings: Settings, name: str, *, base_url: str, api_key: Secret,
             enabled: bool = True, id_hotel: int | None = None, conflict_strategy: str | None = None,
             max_concurrent_requests: int | None = None,
             max_requests_per_second: float | None = None, pms_hotel_id: str | None = None) -> QloAppsConfig:
    """A new shop (sync on unless told otherwise); DuplicateShopError if the name is taken, UnknownPmsHotelError
    if the PMS has no hotel *pms_hotel_id* (None: the PMS's only hotel)."""
    check_name(name)
    changes = _checked(session, ShopChanges(base_url=base_url, api_key=api_key, enabled=enabled, id_hotel=id_hotel,
                                            conflict_strategy=conflict_strategy,
                                            max_concurrent_requests=max_concurrent_requests,
                                            max_requests_per_second=max_requests_per_second,
                                            pms_hotel_id=pms_hotel_id), settings)
    if find_config(session, name) is not None:
        raise DuplicateShopError(f"QloApps shop {name!r} already exists (change it with `qlosync shops set`)")
    return save_changes(session, settings, _cipher_for(settings, changes), name, changes, None)


def update_shop(session: Session, settings: Settings, name: str, *, enabled: bool | None = None,
                base_url: str | None = None, api_key: Secret | None = None,
                max_concurrent_requests: int | None = None, max_requests_per_second: float | None = None,
                id_hotel: int | None = None, conflict_strategy: str | None = None,
                pms_hotel_id: str | None = None) -> QloAppsConfig:
    """Change an existing shop; only the given settings change (*pms_hotel_id* ``""`` clears the PMS hotel)."""
    changes = _checked(session, ShopChanges(base_url=base_url, api_key=api_key, enabled=enabled, id_hotel=id_hotel,
                                            conflict_strategy=conflict_strategy,
                                            max_concurrent_requests=max_concurrent_requests,
                                            max_requests_per_second=max_requests_per_second,
                                            pms_hotel_id=pms_hotel_id), settings)
    row = get_config_row(session, name)
    return save_changes(session, settings, _cipher_for(settings, changes), name, changes, row)


def set_enabled(session: Session, names: Sequence[str], enabled: bool) -> list[str]:
    """Switch sync on or off for these shops (all or none: an unknown name changes nothing)."""
    rows = session.scalars(select(QloAppsConfig).where(QloAppsConfig.name.in_(names))).all()
    missing = sorted(set(names) - {row.name for row in rows})
    if missing:
        raise UnknownShopError(f"no QloApps shop named {', '.join(map(repr, missing))}; nothing was changed")
    for row in rows:
        row.sync_enabled = enabled
    session.flush()
    return sorted(row.name for row in rows)


@dataclass(frozen=True)
class ShopData:
    """What removing a shop deletes with it (PostgreSQL cascades from qloapps_config)."""

    name: str
    reservation_mappings: int
    room_type_mappings: int
    runs: int
    sync_log_entries: int

    def describe(self) -> str:
        return (f"shop {self.name!r} with {self.reservation_mappings} reservation mapping(s), "
                f"{self.room_type_mappings} room type mapping(s), {self.runs} sync run(s) and "
                f"{self.sync_log_entries} sync log entries")


def shop_data(session: Session, name: str) -> ShopData:
    config_id = get_config_row(session, name).id

    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(model.config_id == config_id)) or 0)

    return ShopData(name=name, reservation_mappings=count(QloAppsReservationMapping),
                    room_type_mappings=count(QloAppsRoomTypeMapping), runs=count(QloAppsSyncState),
                    sync_log_entries=count(QloAppsSyncLog))


def remove_shop(session: Session, name: str) -> ShopData:
    """Delete the shop and everything qlosync kept about it; returns what was deleted."""
    data = shop_data(session, name)
    session.execute(delete(QloAppsConfig).where(QloAppsConfig.name == name))
    return data

