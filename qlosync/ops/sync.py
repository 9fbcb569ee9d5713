"""Pulling bookings on request, and the record of pull runs (``qloapps_sync_state``).

A pull asked for here is a ``pull_bookings`` message; the worker that runs it stores the message id in
its run, which is how ``runs(message_id=...)`` finds the run a request started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dramatiq
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.models import QloAppsConfig, QloAppsSyncState
from qlosync.errors import PermanentError
from qlosync.db.config_store import get_config_row
from qlosync.sync.service import load_shop_config
from qlosync.settings import Settings
from qlosync.sync.inbound.pull import RunReport, run_pull
from qlosync.sync.service import pull_deps
from qlosync.states import RunKind, RunStatus, RunTrigger

MAX_RUNS = 500


class RunNotFoundError(PermanentError):
    """No pull run with this id."""


@dataclass(frozen=True)
class PullRequested:
    shop: str
    kind: RunKind
    message_id: str


@dataclass(frozen=True)
class RunView:
    """One pull run as operators see it; `requests` counts the QloApps requests the run made."""

    id: int
    shop: str
    kind: RunKind
    trigger: RunTrigger
    status: RunStatus
    message_id: str | None
    slot_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    seen: int
    created: int
    updated: int
    unchanged: int
    failed: int
    parked: int
    requests: int
    error: str | None


def _enqueue(actor_name: str, args: tuple[Any, ...], broker: dramatiq.Broker | None) -> dramatiq.Message[Any]:
    # Imported here: importing qlosync.actors builds the global broker from RABBITMQ_URL, which only
    # commands that send messages should pay for. *broker* lets the API send with its own settings.
    from qlosync import actors

    actor = getattr(actors, actor_name)
    return (broker or actor.broker).enqueue(actor.message(*args))


def booking_retrier(shop: str, broker: dramatiq.Broker | None = None) -> Callable[[int], None]:
    """What a pull calls for a booking that failed alone: an ``import_booking`` message of its own."""

    def retry(order_id: int) -> None:
        _enqueue("import_booking", (shop, order_id), broker)

    return retry


def request_pull(settings: Settings, sessions: sessionmaker[Session], shop: str, *, full: bool = False,
                 broker: dramatiq.Broker | None = None) -> PullRequested:
    """Enqueue a manual pull for the inbound workers; refuses an unknown shop or one whose sync is off."""
    load_shop_config(settings, sessions, shop, require_enabled=True)
    kind = RunKind.FULL if full else RunKind.INCREMENTAL
    message = _enqueue("pull_bookings", (shop, kind, RunTrigger.MANUAL), broker)
    return PullRequested(shop=shop, kind=kind, message_id=message.message_id)


def pull_now(settings: Settings, engine: Engine, sessions: sessionmaker[Session], shop: str, *, full: bool = False,
             progress: Callable[[RunReport], None] | None = None) -> RunReport:
    """Run a manual pull in this process (``qlosync sync --wait``)."""
    config = load_shop_config(settings, sessions, shop, require_enabled=True)
    with pull_deps(settings, engine, sessions, config, booking_retrier(shop), progress=progress) as deps:
        return run_pull(deps, kind=RunKind.FULL if full else RunKind.INCREMENTAL, trigger=RunTrigger.MANUAL)


def list_runs(session: Session, *, shop: str | None = None, message_id: str | None = None,
              limit: int = 20) -> list[RunView]:
    """Pull runs, newest first, optionally of one shop or started by one message."""
    query = select(QloAppsSyncState, QloAppsConfig.name).join(QloAppsConfig, QloAppsConfig.id == QloAppsSyncState.config_id)
    if shop is not None:
        query = query.where(QloAppsSyncState.config_id == get_config_row(session, shop).id)
    if message_id is not None:
        query = query.where(QloAppsSyncState.message_id == message_id)
    query = query.order_by(QloAppsSyncState.started_at.desc(), QloAppsSyncState.id.desc())
    return [_view(run, name) for run, name in session.execute(query.limit(max(1, min(limit, MAX_RUNS))))]


def get_run(session: Session, run_id: int) -> RunView:
    found = session.execute(
        select(QloAppsSyncState, QloAppsConfig.name)
        .join(QloAppsConfig, QloAppsConfig.id == QloAppsSyncState.config_id)
        .where(QloAppsSyncState.id == run_id)
    ).one_or_none()
    if found is None:
        raise RunNotFoundError(f"no pull run with id {run_id}")
    return _view(*found)


def _view(run: QloAppsSyncState, shop: str) -> RunView:
    return RunView(
        # The columns' CHECKs hold them to these sets; rows read back as plain strings.
        id=run.id, shop=shop, kind=RunKind(run.kind), trigger=RunTrigger(run.trigger), status=RunStatus(run.status),
        message_id=run.message_id,
        slot_at=run.slot_at, started_at=run.started_at, finished_at=run.finished_at, seen=run.seen,
        created=run.created, updated=run.updated, unchanged=run.unchanged, failed=run.failed, parked=run.parked,
        requests=run.requests, error=run.error,
    )
