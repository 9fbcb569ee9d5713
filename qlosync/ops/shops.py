"""Finding a shop for an operation: an unknown shop is its own error, so the API can answer 404."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import ShopConfig, find_config, load_shop
from qlosync.db.models import QloAppsConfig
from qlosync.db.session import transaction
from qlosync.errors import ConfigurationError
from qlosync.settings import Settings


class UnknownShopError(ConfigurationError):
    """No QloApps shop of that name is configured."""


def _not_configured(name: str) -> UnknownShopError:
    # Same words as config_store.get_config_row, so the CLI's output did not change.
    return UnknownShopError(
        f"QloApps shop {name!r} is not configured: run `qlosync config set --base-url URL --api-key-stdin`"
    )


def shop_row(session: Session, name: str) -> QloAppsConfig:
    """The shop's stored row (API key still encrypted)."""
    row = find_config(session, name)
    if row is None:
        raise _not_configured(name)
    return row


def open_shop(settings: Settings, sessions: sessionmaker[Session], name: str, *,
              require_enabled: bool = False) -> ShopConfig:
    """The shop's configuration with its API key decrypted; optionally insist that sync is on."""
    # The cipher first: without QLOSYNC_SECRET_KEY nothing here can work, whichever shop was asked for.
    cipher = KeyCipher(settings.require_secret_key())
    with transaction(sessions) as session:
        shop_row(session, name)
        return load_shop(session, cipher, name, require_enabled=require_enabled)
