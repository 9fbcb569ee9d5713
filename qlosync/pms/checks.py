"""Whether a database is a PMS an adapter can drive: one schema check per PMS (``qlosync pms check``).

A registry of its own, beside ``qlosync.pms.ADAPTERS``: a PMS can have its check before its adapter
(hotelmanangement, issue 21). Each check is imported when run, so ``qlosync --help`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from qlosync.errors import ConfigurationError
from qlosync.pms import imported

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

#: The schema checks, by PMS name: "module:function(connection) -> list of problems".
SCHEMA_CHECKS: dict[str, str] = {
    "builtin": "qlosync.pms.builtin.check:check",
    "hotelmanangement": "qlosync.pms.hotelmanangement.schema:check",
}


def check_schema(connection: Connection, kind: str) -> list[str]:
    """What the database lacks to be PMS *kind*, one line each; an empty list: an adapter can drive it."""
    if kind not in SCHEMA_CHECKS:
        raise ConfigurationError(f"no schema check for PMS {kind!r} ({', '.join(sorted(SCHEMA_CHECKS))})")
    check: Callable[[Connection], list[str]] = imported(SCHEMA_CHECKS[kind])
    return check(connection)


class NotThePms(ConfigurationError):
    """The database is not the PMS QLOSYNC_PMS names: a worker, relay or scheduler must not start on it."""


def pms_mismatch(connection: Connection, kind: str) -> str | None:
    """One line naming what the database lacks to be PMS *kind* (what every process that refuses it says), or
    None when it is that PMS."""
    problems = check_schema(connection, kind)
    if not problems:
        return None
    return f"the database is not the {kind} PMS QLOSYNC_PMS names: {'; '.join(problems)}"


def require_pms(engine: Engine, kind: str) -> None:
    """Raise :class:`NotThePms` (one line) unless the database is PMS *kind*; a few catalog queries, for a
    process to run once when it starts. PostgreSQL down: DatabaseUnavailableError."""
    from qlosync.db.session import check_database

    check_database(engine)
    with engine.connect() as connection:
        problem = pms_mismatch(connection, kind)
    if problem is not None:
        raise NotThePms(problem)
