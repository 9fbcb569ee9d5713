"""A worker or scheduler refuses to start on a database that is not the PMS QLOSYNC_PMS names (checked once, at
start: a few catalog queries), with one line and an exit, as it does when RabbitMQ refuses it.

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

#: Exit codes, as the CLI's: 1 a qlosync error (the wrong database), 3 a service is down.
EXIT_WRONG_PMS = 1
EXIT_UNAVAILABLE = 3


def require_pms_or_exit(engine: Engine, kind: str, process: str) -> None:
    """Return if the database is PMS *kind*; else log one CRITICAL line and end the process (SystemExit, which
    dramatiq's and periodiq's hook runners let through without a traceback)."""
    try:
        require_pms(engine, kind)
    except NotThePms as exc:
        logger.critical("%s not started: %s.", process, exc, extra={"action": "boot_failed"})
        raise SystemExit(EXIT_WRONG_PMS) from None
    except DatabaseUnavailableError as exc:
        logger.critical("%s not started: %s.", process, exc, extra={"action": "boot_failed"})
        raise SystemExit(EXIT_UNAVAILABLE) from None


def check_pms_at_start(settings: Settings, process: str) -> None:
    """:func:`require_pms_or_exit` on a connection of its own (for a process without an engine yet)."""
    engine = make_engine(settings)
    try:
        require_pms_or_exit(engine, settings.pms, process)
    finally:
        engine.dispose()
