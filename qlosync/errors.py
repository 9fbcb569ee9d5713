"""The qlosync error tree.

Every error is either *transient* (retry with backoff) or *permanent* (dead-letter at once, a person must
look). Retry policy is decided once, from these two bases, in the broker's Retries configuration.
"""

from __future__ import annotations


class QlosyncError(Exception):
    """Root of every error qlosync raises on purpose."""


class TransientError(QlosyncError):
    """A failure that may go away by itself: retry later."""


class PermanentError(QlosyncError):
    """A failure that retrying cannot fix: dead-letter and tell an operator."""


class ConfigurationError(PermanentError):
    """Settings or stored configuration are missing or invalid."""


class SecretKeyError(ConfigurationError):
    """QLOSYNC_SECRET_KEY is missing, malformed, or cannot decrypt the stored API key."""


class SyncDisabledError(PermanentError):
    """Sync is switched off (or not configured) for this QloApps shop."""


class DatabaseUnavailableError(TransientError):
    """PostgreSQL cannot be reached."""


class LockBusyError(TransientError):
    """Another worker holds the lock on this record: try again shortly."""
