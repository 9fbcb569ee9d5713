"""What the inbound actors do, as plain functions of a Runtime (tests call these without a broker)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from qlosync.db.models import QloAppsConfig
from qlosync.errors import SyncDisabledError, TransientError
from qlosync.runtime.context import Runtime
from qlosync.sync.inbound.apply import ApplyResult
from qlosync.sync.inbound.pull import RunReport, import_booking, run_pull
from qlosync.sync.inbound.schedule_slots import slots_in_minute
from qlosync.sync.service import load_shop_config, pull_deps

logger = logging.getLogger(__name__)


def pull(runtime: Runtime, shop_name: str, *, kind: str, trigger: str, slot_at: str | None,
         retry_booking: Callable[[int], None], message_id: str | None = None) -> RunReport | None:
    """One pull; a shop whose sync was switched off meanwhile is skipped quietly (not dead-lettered).

    A scheduled pull that cannot even start (PostgreSQL down) is dropped with a warning: the next slot
    is the retry, and a dead letter per slot would bury the real ones. A manual pull raises instead.
    """
    try:
        shop = load_shop_config(runtime.settings, runtime.session_factory, shop_name, require_enabled=True)
        slot = datetime.fromisoformat(slot_at) if slot_at else None
        with pull_deps(runtime.settings, runtime.engine, runtime.session_factory, shop, retry_booking) as deps:
            return run_pull(deps, kind=kind, trigger=trigger, slot_at=slot, message_id=message_id)
    except SyncDisabledError:
        logger.info("Sync of %s is disabled: pull skipped.", shop_name, extra={"action": "pull_skipped"})
        return None
    except (TransientError, OperationalError) as exc:
        if trigger != "schedule":
            raise
        logger.warning("Scheduled pull of %s (slot %s) could not run: %s: %s; the next slot retries.", shop_name,
                       slot_at, type(exc).__name__, exc, extra={"action": "pull_dropped"})
        return None


def import_one(runtime: Runtime, shop_name: str, order_id: int) -> ApplyResult:
    shop = load_shop_config(runtime.settings, runtime.session_factory, shop_name)
    with pull_deps(runtime.settings, runtime.engine, runtime.session_factory, shop, lambda _: None) as deps:
        return import_booking(deps, order_id)


def tick(runtime: Runtime, enqueue: Callable[[str, datetime, int], None], now: datetime | None = None) -> int:
    """Enqueue the pull slots of the current minute for every enabled shop; returns how many."""
    now = now or datetime.now(UTC)
    with runtime.transaction() as session:
        shops = list(session.scalars(select(QloAppsConfig.name).where(QloAppsConfig.sync_enabled.is_(True))))
    count = 0
    for name in shops:
        for slot, delay_ms in slots_in_minute(now, runtime.settings.sync_interval_ms, now):
            enqueue(name, slot, delay_ms)
            count += 1
    return count


__all__ = ["import_one", "pull", "tick"]
