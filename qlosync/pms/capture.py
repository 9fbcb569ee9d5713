"""Installing and removing a PMS's change capture, by PMS name, whether or not its adapter is registered yet.

The built-in PMS's capture functions are made by the migrations (its triggers can be dropped and made again);
the hotelmanangement PMS's schema is not qlosync's, so its capture is installed after the migrations
(``migrations/env.py``) and by ``qlosync pms install``, and removed by ``qlosync pms uninstall``.
Each module is imported when used, so ``qlosync --help`` stays light.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from qlosync.errors import ConfigurationError

BUILTIN = "builtin"
HOTELMANANGEMENT = "hotelmanangement"
KINDS = (BUILTIN, HOTELMANANGEMENT)
#: The PMSs whose capture qlosync installs after ``alembic upgrade head`` (the built-in's is the migrations').
INSTALLED_AFTER_MIGRATIONS = frozenset({HOTELMANANGEMENT})


def _known(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigurationError(f"no change capture for PMS {kind!r} ({', '.join(KINDS)})")
    return kind


def installed(session: Session, kind: str) -> list[str]:
    """The capture's objects there are now, one name each (``trigger NAME on TABLE``, ``function ...``)."""
    if _known(kind) == BUILTIN:
        from qlosync.pms.builtin import changes as builtin

        return sorted(f"trigger {name} on {table}" for table, name in builtin.installed(session))
    from qlosync.pms.hotelmanangement import changes as hms

    return hms.installed(session)


def install(session: Session, kind: str, *, ari_days: int) -> list[str]:
    """Install PMS *kind*'s change capture (idempotent); what it created."""
    if _known(kind) == BUILTIN:
        from qlosync.pms.builtin import changes as builtin

        before = set(installed(session, kind))
        builtin.install(session)
        return [name for name in installed(session, kind) if name not in before]
    from qlosync.pms.hotelmanangement import changes as hms

    return hms.install(session, ari_days)


def remove(session: Session, kind: str) -> list[str]:
    """Remove PMS *kind*'s change capture (idempotent): PMS writes no longer reach the outbox; what it removed."""
    if _known(kind) == BUILTIN:
        from qlosync.pms.builtin import changes as builtin

        found = installed(session, kind)
        builtin.remove(session)
        return found
    from qlosync.pms.hotelmanangement import changes as hms

    return hms.remove(session)
