"""A worker or scheduler refuses to start on a database that is not the PMS QLOSYNC_PMS names (checked once, at
start: a few catalog queries), with one line and an exit, as it does when RabbitMQ refuses it. A database that
cannot be reached at start is not checked: the process starts as it always did and waits for it.

Without it, a process pointed at the wrong database (an empty one, the built-in PMS's while QLOSYNC_PMS says
hotelmanangement) would start and fail every job, one traceback each.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from qlosync.db.session import make_engine
from qlosync.errors import DatabaseUnavailableError
from qlosync.pms.checks import NotThePms, require_pms
from qlosync.settings import Settings

logger = logging.getLogger(__name__)

#: The exit code, as the CLI's for a qlosync error.
EXIT_WRONG_PMS = 1


def require_pms_or_exit(engine: Engine, kind: str, process: str) -> None:
    """Return if the database is PMS *kind*; else log one CRITICAL line and end the process (SystemExit, which
    dramatiq's and periodiq's hook runners let through without a traceback)."""
    try:
        require_pms(engine, kind)
    except NotThePms as exc:
        logger.critical("%s not started: %s.", process, exc, extra={"action": "boot_failed"})
        raise SystemExit(EXIT_WRONG_PMS) from None
    except DatabaseUnavailableError as exc:
        # Not a reason to stay down: a worker still dead-letters, and retries its jobs until PostgreSQL is back.
        logger.warning("%s started without checking the PMS: %s.", process, exc, extra={"action": "pms_check_skipped"})


def check_pms_at_start(settings: Settings, process: str) -> None:
    """:func:`require_pms_or_exit` on a connection of its own (for a process without an engine yet)."""
    engine = make_engine(settings)
    try:
        require_pms_or_exit(engine, settings.pms, process)
    finally:
        engine.dispose()
