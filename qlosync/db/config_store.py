"""Reading and writing ``qloapps_config``: the one place that handles the encrypted API key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qlosync import fields
from qlosync.crypto import KeyCipher
from qlosync.db.models import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_REQUESTS_PER_SECOND,
    QloAppsConfig,
    QloAppsShopGate,
)
from qlosync.errors import ConfigurationError, SyncDisabledError
from qlosync.secrets import Secret, mask, without_credentials

DEFAULT_SHOP = "default"


@dataclass(frozen=True)
class ShopConfig:
    """A QloApps shop's settings with the API key decrypted (masked in every repr)."""

    id: int
    name: str
    base_url: str
    api_key: Secret
    sync_enabled: bool
    id_hotel: int
    conflict_strategy: str
    max_concurrent_requests: int = 4
    max_requests_per_second: float = 25.0
    pms_hotel_id: str | None = None  # None: the PMS's only hotel


#: Why a call that points a shop elsewhere without its key is refused (one line, for the CLI and the API).
KEY_NEEDED_FOR_NEW_URL = ("a base URL other than the stored one needs the API key in the same request "
                          "(--api-key-stdin / api_key): the stored key is only ever sent to the stored URL")


class UnknownShopError(ConfigurationError):
    """No QloApps shop of that name is configured (the API answers 404)."""


class KeyNeededForNewUrlError(ConfigurationError):
    """A shop's base URL would change (or be tested) without an API key given with it."""


def require_key_for_new_url(stored_url: str | None, new_url: str | None, api_key: Secret | None) -> None:
    """The one rule every writer and the connection check share: the stored key goes to the stored URL only.

    Otherwise whoever may call the API or the CLI could point a shop at a listener of theirs and read the
    "write-only" key from the next request. *new_url* is already normalised; the same URL written
    differently is not a change.
    """
    if stored_url is not None and new_url is not None and api_key is None and new_url != stored_url:
        raise KeyNeededForNewUrlError(KEY_NEEDED_FOR_NEW_URL)


def find_config(session: Session, name: str = DEFAULT_SHOP) -> QloAppsConfig | None:
    return session.scalars(select(QloAppsConfig).where(QloAppsConfig.name == name)).one_or_none()


def get_config_row(session: Session, name: str = DEFAULT_SHOP) -> QloAppsConfig:
    """The shop's stored row (API key still encrypted): the one lookup behind every load of a shop."""
    row = find_config(session, name)
    if row is None:
        raise UnknownShopError(
            f"QloApps shop {name!r} is not configured: run `qlosync config set --base-url URL --api-key-stdin`"
        )
    return row


def save_config(
    session: Session,
    cipher: KeyCipher | None,
    *,
    name: str = DEFAULT_SHOP,
    base_url: str | None = None,
    api_key: Secret | None = None,
    sync_enabled: bool | None = None,
    id_hotel: int | None = None,
    conflict_strategy: str | None = None,
    max_concurrent_requests: int | None = None,
    max_requests_per_second: float | None = None,
    pms_hotel_id: str | None = None,
    allow_link_local_urls: bool = False,
    stored: QloAppsConfig | None = None,
) -> QloAppsConfig:
    """Create or update a shop's configuration: the one writer of ``qloapps_config``. Only the given fields
    change, each checked by :mod:`qlosync.fields` before anything is written; a new shop gets sync off
    unless *sync_enabled* says otherwise. *stored* is the shop's row when the caller has already read it.

    *pms_hotel_id* is stored as given (checked against the PMS by qlosync.ops.shops.hotels); ``""`` clears it
    (NULL: the PMS's only hotel)."""
    if base_url is not None:
        base_url = fields.base_url(base_url, allow_link_local=allow_link_local_urls)
    if api_key is not None:
        fields.api_key(api_key)
    if id_hotel is not None:
        id_hotel = fields.hotel_id(id_hotel)
    if conflict_strategy is not None:
        fields.conflict_strategy(conflict_strategy)
    if max_concurrent_requests is not None:
        max_concurrent_requests = fields.max_concurrent_requests(max_concurrent_requests)
    if max_requests_per_second is not None:
        max_requests_per_second = fields.max_requests_per_second(max_requests_per_second)
    row = stored if stored is not None else find_config(session, name)
    if row is None:
        fields.shop_name(name)
        if base_url is None or api_key is None:
            raise ConfigurationError("a new QloApps configuration needs both --base-url and the API key")
        row = QloAppsConfig(name=name, sync_enabled=False, id_hotel=1, conflict_strategy="qloapps_wins",
                            max_concurrent_requests=DEFAULT_MAX_CONCURRENT_REQUESTS,
                            max_requests_per_second=DEFAULT_MAX_REQUESTS_PER_SECOND)
        session.add(row)
    else:
        require_key_for_new_url(row.base_url, base_url, api_key)
    if base_url is not None:
        row.base_url = base_url
    if api_key is not None:
        if cipher is None:
            raise ConfigurationError("QLOSYNC_SECRET_KEY is needed to store the API key")
        row.api_key_encrypted = cipher.encrypt(api_key)
    if sync_enabled is not None:
        row.sync_enabled = sync_enabled
    if id_hotel is not None:
        row.id_hotel = id_hotel
    if conflict_strategy is not None:
        row.conflict_strategy = conflict_strategy
    if max_concurrent_requests is not None:
        row.max_concurrent_requests = max_concurrent_requests
    if max_requests_per_second is not None:
        row.max_requests_per_second = max_requests_per_second
    if pms_hotel_id is not None:
        row.pms_hotel_id = pms_hotel_id or None
    session.flush()
    if base_url is not None or api_key is not None:
        close_breaker(session, row.id)
    return row


def close_breaker(session: Session, config_id: int) -> None:
    """A new address or key is what an operator does about a failing shop: its next request goes at once."""
    session.execute(update(QloAppsShopGate).where(QloAppsShopGate.config_id == config_id)
                    .values(failures=0, trips=0, open_until=None))


def load_shop(session: Session, cipher: KeyCipher, name: str = DEFAULT_SHOP, *, require_enabled: bool = False) -> ShopConfig:
    """The shop's configuration with its API key decrypted; optionally insist that sync is on."""
    row = get_config_row(session, name)
    if require_enabled and not row.sync_enabled:
        raise SyncDisabledError(f"sync is disabled for QloApps shop {name!r} (`qlosync config set --enable`)")
    return ShopConfig(
        id=row.id,
        name=row.name,
        base_url=row.base_url,
        api_key=cipher.decrypt(row.api_key_encrypted),
        sync_enabled=row.sync_enabled,
        id_hotel=row.id_hotel,
        conflict_strategy=row.conflict_strategy,
        max_concurrent_requests=row.max_concurrent_requests,
        pms_hotel_id=row.pms_hotel_id,
        max_requests_per_second=row.max_requests_per_second,
    )


def rotate_keys(session: Session, cipher: KeyCipher) -> int:
    """Re-encrypt every stored API key with the newest secret key; returns how many rows changed."""
    rows = session.scalars(select(QloAppsConfig).with_for_update()).all()
    for row in rows:
        row.api_key_encrypted = cipher.rotate(row.api_key_encrypted)
    session.flush()
    return len(rows)


def describe(row: QloAppsConfig, cipher: KeyCipher | None) -> dict[str, object]:
    """What `config show` prints: everything but the key, which is masked (or marked unreadable)."""
    if cipher is None:
        key_display = "(encrypted; set QLOSYNC_SECRET_KEY to check it)"
    else:
        key_display = mask(cipher.decrypt(row.api_key_encrypted).reveal())
    return {
        "name": row.name,
        "base_url": without_credentials(row.base_url),
        "api_key": key_display,
        "sync_enabled": row.sync_enabled,
        "id_hotel": row.id_hotel,
        "pms_hotel_id": row.pms_hotel_id,
        "conflict_strategy": row.conflict_strategy,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }
