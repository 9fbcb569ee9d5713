"""A snapshot of qlosync's state for operators: processes, queues, shops, runs, backlog, and a health verdict.

Everything returned is JSON-friendly (the admin API returns it as is). ``health`` says whether anything
needs a person, with one readable line per problem; ``qlosync status`` exits 4 when it is unhealthy.
The thresholds below are the whole rule book (docs/runtime.md, "Heartbeats and status"):

* a process is stale when its last beat is older than ``STALE_AFTER_BEATS`` of its own beat periods;
* sync enabled for some shop, but no alive worker consumes ``qloapps.inbound`` (or ``qloapps.outbound``);
* RabbitMQ unreachable (when an AMQP URL was given);
* an enabled shop whose last run failed, or whose sync is overdue (:mod:`qlosync.ops.overdue`, the rule the
  shop list's ``overdue`` state uses too);
* an enabled shop whose circuit breaker is open (qlosync.sync.gate);
* an enabled shop the PMS cannot place in a hotel: none set while the PMS has several, or one it no longer has
  (:mod:`qlosync.ops.shops.hotels`);
* any dead letter (recorded, or waiting in ``qloapps.dlq``);
* unsent outbox rows older than ``OUTBOX_LAG_LIMIT_S``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pika.exceptions
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db import migrate
from qlosync.db.session import transaction
from qlosync.ops.overdue import is_overdue, overdue_after_s
from qlosync.ops.shops import shop_status as shop_rows, summarise
from qlosync.ops.shops.hotels import effective_hotel, hotel_problem, pms_hotels
from qlosync.pms.port import Hotel
from qlosync.runtime.heartbeat import STALE_AFTER_BEATS
from qlosync.runtime.queues import DLQ, INBOUND, OUTBOUND, SCHEDULE
from qlosync.runtime.topology import BrokerUnavailableError, connection, passive_counts, redact_url
from qlosync.secrets import without_credentials
from qlosync.settings import DEFAULT_SYNC_INTERVAL_MS, Settings
from qlosync.pms import open_pms

from qlosync.states import ConflictStatus, DeadLetterStatus, ProcessRole, RunStatus
from qlosync.db.models import (
    QloAppsConfig,
    QloAppsConflict,
    QloAppsStopSellBlock,
    QloAppsDeadLetter,
    QloAppsReservationMapping,
    QloAppsSyncCursor,
    QloAppsSyncLog,
    QloAppsSyncState,
    QlosyncProcess,
)

#: Unsent outbox rows older than this: PMS changes are not reaching QloApps (is a relay running?).
OUTBOX_LAG_LIMIT_S = 5 * 60
#: How many of each shop's latest runs the report lists.
RECENT_RUNS = 5
#: The queues whose depth the report shows.
REPORTED_QUEUES = (INBOUND, OUTBOUND, SCHEDULE, DLQ)
#: Work queues that need an alive worker while any shop has sync enabled.
QUEUES_NEEDING_WORKERS = (INBOUND, OUTBOUND, SCHEDULE)


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else None


def _run_view(run: QloAppsSyncState) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "seen": run.seen,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "failed": run.failed,
        "parked": run.parked,
        "error": run.error,
    }


def _top_per_shop(session: Session, query: Any, order: Any, limit: int) -> Any:
    """The first *limit* rows of *query* per shop (by *order*): one statement for every shop."""
    rank = func.row_number().over(partition_by=query.selected_columns.config_id, order_by=order).label("rank")
    ranked = query.add_columns(rank).subquery()
    return session.execute(select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.config_id, ranked.c.rank))


def shops_status(session: Session, shops: list[QloAppsConfig]) -> list[dict[str, Any]]:
    """Every shop's details for the report, with one query per table however many shops there are."""
    ids = [shop.id for shop in shops]
    # PostgreSQL's clock, like the timestamps it is compared with.
    now: datetime = session.execute(select(func.now())).scalar_one()
    cursors = {c.config_id: c for c in session.scalars(
        select(QloAppsSyncCursor).where(QloAppsSyncCursor.config_id.in_(ids)))}
    run_ids = _top_per_shop(session, select(QloAppsSyncState.id, QloAppsSyncState.config_id)
                            .where(QloAppsSyncState.config_id.in_(ids)),
                            (QloAppsSyncState.started_at.desc(), QloAppsSyncState.id.desc()), RECENT_RUNS)
    ordered_ids = [row.id for row in run_ids]
    by_id = {run.id: run for run in session.scalars(select(QloAppsSyncState)
                                                    .where(QloAppsSyncState.id.in_(ordered_ids)))}
    runs: dict[int, list[QloAppsSyncState]] = {}
    for run_id in ordered_ids:
        runs.setdefault(by_id[run_id].config_id, []).append(by_id[run_id])
    mapping = QloAppsReservationMapping
    counts = {row.config_id: row for row in session.execute(
        select(mapping.config_id,
               func.count().filter(mapping.parked_reason.is_not(None)).label("parked"),
               func.count().filter(mapping.qloapps_order_id.is_not(None)).label("mapped"),
               func.count().filter(mapping.push_error.is_not(None)).label("refused"))
        .where(mapping.config_id.in_(ids)).group_by(mapping.config_id))}
    refused: dict[int, list[dict[str, Any]]] = {}
    for row in _top_per_shop(session, select(mapping.config_id, mapping.pms_reservation_id, mapping.push_error)
                             .where(mapping.config_id.in_(ids), mapping.push_error.is_not(None)),
                             mapping.push_error_at.desc(), 20):
        refused.setdefault(row.config_id, []).append({"pms_reservation_id": row.pms_reservation_id,
                                                      "reason": row.push_error})
    conflicts: dict[int, int] = {config_id: count for config_id, count in session.execute(
        select(QloAppsConflict.config_id, func.count())
        .where(QloAppsConflict.config_id.in_(ids), QloAppsConflict.status == ConflictStatus.OPEN)
        .group_by(QloAppsConflict.config_id))}
    latest_rates = (
        select(QloAppsSyncLog.config_id, QloAppsSyncLog.entity_id, QloAppsSyncLog.action, QloAppsSyncLog.reason)
        .where(QloAppsSyncLog.config_id.in_(ids), QloAppsSyncLog.entity_type == "room_type",
               QloAppsSyncLog.action.in_(("rates_pushed", "rate_mismatch")))
        .order_by(QloAppsSyncLog.config_id, QloAppsSyncLog.entity_id, QloAppsSyncLog.created_at.desc(),
                  QloAppsSyncLog.id.desc())
        .ext(distinct_on(QloAppsSyncLog.config_id, QloAppsSyncLog.entity_id))
    )
    mismatches: dict[int | None, list[dict[str, Any]]] = {}  # the query asks only for these shops' ids
    for config_id, entity, action, reason in session.execute(latest_rates):
        if action == "rate_mismatch":
            mismatches.setdefault(config_id, []).append({"qloapps_room_type_id": entity, "reason": reason})
    stop_sell: dict[int, list[Any]] = {}
    for row in session.execute(select(QloAppsStopSellBlock.config_id, QloAppsStopSellBlock.qloapps_room_type_id,
                                      QloAppsStopSellBlock.blocked, QloAppsStopSellBlock.conflicts)
                               .where(QloAppsStopSellBlock.config_id.in_(ids))
                               .order_by(QloAppsStopSellBlock.config_id, QloAppsStopSellBlock.qloapps_room_type_id)):
        stop_sell.setdefault(row.config_id, []).append(row[1:])
    hotels = pms_hotels(session)
    return [_shop_view(shop, now, cursors.get(shop.id), runs.get(shop.id, []), counts.get(shop.id),
                       refused.get(shop.id, []), conflicts.get(shop.id, 0), mismatches.get(shop.id, []),
                       stop_sell.get(shop.id, []), hotels)
            for shop in shops]


def shop_status(session: Session, shop: QloAppsConfig) -> dict[str, Any]:
    return shops_status(session, [shop])[0]


def _shop_view(shop: QloAppsConfig, now: datetime, cursor: QloAppsSyncCursor | None,
               recent_runs: list[QloAppsSyncState], counts: Any, refused: list[dict[str, Any]], conflicts: int,
               rate_mismatches: list[dict[str, Any]], stop_sell: list[Any], hotels: list[Hotel]) -> dict[str, Any]:
    last_run = recent_runs[0] if recent_runs else None
    synced_at = cursor.last_successful_sync if cursor else None
    mapped, parked, refused_count = (counts.mapped, counts.parked, counts.refused) if counts else (0, 0, 0)
    return {
        "name": shop.name,
        "base_url": without_credentials(shop.base_url),
        "sync_enabled": shop.sync_enabled,
        "pms_hotel_id": shop.pms_hotel_id,
        "effective_pms_hotel_id": effective_hotel(hotels, shop.pms_hotel_id),
        "pms_hotel_problem": hotel_problem(hotels, shop.pms_hotel_id, shop.name),
        "last_successful_sync": _iso(cursor.last_successful_sync) if cursor else None,
        "last_full_sync": _iso(cursor.last_full_sync) if cursor else None,
        "cursor": (
            f"{_iso(cursor.cursor_date_upd)} #{cursor.cursor_id}" if cursor and cursor.cursor_date_upd else None
        ),
        "seconds_since_successful_sync": _seconds(now - synced_at) if synced_at else None,
        "configured_seconds_ago": _seconds(now - shop.created_at),
        "last_run": _run_view(last_run) if last_run else None,
        "recent_runs": [_run_view(run) for run in recent_runs],
        "reservations_mapped": mapped,
        "bookings_parked": parked,
        "pushes_refused": refused_count,
        "refused": refused,
        "open_conflicts": conflicts,
        "rate_mismatches": rate_mismatches,
        "stop_sell": [{"qloapps_room_type_id": rt, "room_nights_off_sale": sum(int(c) for _, c in blocked),
                       "room_nights_guests_keep": sum(int(c) for _, c in conflicts),
                       "first_short_night": conflicts[0][0] if conflicts else None}
                      for rt, blocked, conflicts in stop_sell],
    }


def process_status(session: Session) -> list[dict[str, Any]]:
    """Every known process (rows are forgotten a day after they stop or fall silent), workers first."""
    beat_age = func.extract("epoch", func.now() - QlosyncProcess.last_beat_at)
    uptime = func.extract("epoch", func.coalesce(QlosyncProcess.stopped_at, func.now()) - QlosyncProcess.started_at)
    rows = session.execute(select(QlosyncProcess, beat_age, uptime)).all()
    processes = [_process_view(row, float(age), float(up)) for row, age, up in rows]
    processes.sort(key=lambda p: (list(ProcessRole).index(p["role"]), p["host"], p["started_at"], p["pid"]))
    return processes


def _process_view(row: QlosyncProcess, beat_age_s: float, uptime_s: float) -> dict[str, Any]:
    if row.stopped_at is not None:
        state = "stopped"
    elif beat_age_s > STALE_AFTER_BEATS * row.beat_interval_s:
        state = "stale"
    else:
        state = "alive"
    return {
        "id": row.id,
        "role": row.role,
        "host": row.host,
        "pid": row.pid,
        "queues": list(row.queues),
        "state": state,
        "started_at": _iso(row.started_at),
        "last_beat_at": _iso(row.last_beat_at),
        "stopped_at": _iso(row.stopped_at),
        "uptime_seconds": round(uptime_s, 1),
        "last_beat_seconds_ago": round(beat_age_s, 1),
        "beat_interval_seconds": row.beat_interval_s,
        "messages_done": row.messages_done,
        "messages_failed": row.messages_failed,
    }


def queue_depths(amqp_url: str) -> dict[str, dict[str, int] | None]:
    """Ready messages and consumers of each reported queue (None: not declared yet), by passive declares.

    AMQP reports only ready messages: deliveries a worker holds unacked (running or prefetched) are not
    in the count; RabbitMQ's management UI shows them. Raises BrokerUnavailableError.
    """
    try:
        with connection(amqp_url) as conn:
            counts = {name: passive_counts(conn, name) for name in REPORTED_QUEUES}
    except pika.exceptions.AMQPError as exc:  # lost mid-way: as good as unreachable
        raise BrokerUnavailableError(f"lost RabbitMQ at {redact_url(amqp_url)} ({type(exc).__name__})") from None
    return {name: None if found is None else {"ready": found[0], "consumers": found[1]}
            for name, found in counts.items()}


def collect_status(session: Session, *, amqp_url: str | None = None,
                   sync_interval_ms: int = DEFAULT_SYNC_INTERVAL_MS) -> dict[str, Any]:
    """The whole report. Without *amqp_url* RabbitMQ is not asked (no queue depths, no RabbitMQ verdict)."""
    shops = session.scalars(select(QloAppsConfig).order_by(QloAppsConfig.id)).all()
    dead = session.scalar(
        select(func.count()).select_from(QloAppsDeadLetter).where(QloAppsDeadLetter.status == DeadLetterStatus.DEAD)
    )
    outbox = open_pms(session).changes.backlog()
    rabbitmq: dict[str, Any] = {"checked": amqp_url is not None, "reachable": None, "error": None}
    queues: dict[str, dict[str, int] | None] = {}
    if amqp_url is not None:
        try:
            queues = queue_depths(amqp_url)
            rabbitmq["reachable"] = True
        except BrokerUnavailableError as exc:
            rabbitmq.update(reachable=False, error=str(exc))
    rows = shop_rows(session, sync_interval_ms=sync_interval_ms)
    report: dict[str, Any] = {
        "shops": shops_status(session, list(shops)),
        # One line per shop, attention first (`qlosync shops list`): what to read when there are many.
        "shop_rows": [row.as_json() for row in rows],
        "shop_summary": summarise(rows),
        "dead_letters": dead,
        "outbox": {"unsent": outbox.unsent, "oldest_unsent_at": _iso(outbox.oldest_unsent_at),
                   "lag_seconds": round(outbox.lag_seconds, 1)},
        "processes": process_status(session),
        "rabbitmq": rabbitmq,
        "queues": queues,
    }
    report["health"] = assess(report, sync_interval_ms=sync_interval_ms)
    return report


def assess(report: dict[str, Any], *, sync_interval_ms: int = DEFAULT_SYNC_INTERVAL_MS) -> dict[str, Any]:
    """The verdict on a report: ``{"healthy": bool, "problems": [one readable line each]}``."""
    problems: list[str] = []
    processes = report["processes"]
    for p in processes:
        if p["state"] == "stale":
            problems.append(
                f"{p['role']} {p['pid']} on {p['host']} is stale: last beat "
                f"{format_duration(p['last_beat_seconds_ago'])} ago, it beats every "
                f"{format_duration(p['beat_interval_seconds'])} (crashed, hung or cut off from PostgreSQL)")
    enabled = [shop for shop in report["shops"] if shop["sync_enabled"]]
    if enabled:
        for queue in QUEUES_NEEDING_WORKERS:
            if not any(p["state"] == "alive" and p["role"] == "worker" and queue in p["queues"] for p in processes):
                fix = (f"add {SCHEDULE} to every worker's --queues: the scheduler's ticks wait there"
                       if queue == SCHEDULE else f"start one: dramatiq qlosync.actors --queues {queue} {SCHEDULE}")
                problems.append(f"no alive worker consumes {queue}, and sync is enabled ({fix})")
    rabbitmq = report["rabbitmq"]
    if rabbitmq["checked"] and not rabbitmq["reachable"]:
        problems.append(f"RabbitMQ unreachable: {rabbitmq['error']}")
    for shop in enabled:
        problems += _shop_problems(shop, sync_interval_ms)
    problems += _breaker_problems(report.get("shop_rows", []))
    dlq = report["queues"].get(DLQ)
    waiting = dlq["ready"] if dlq else 0
    if report["dead_letters"] or waiting:
        problems.append(f"{max(report['dead_letters'], waiting)} dead letter(s) in {DLQ} (qlosync dlq list)")
    outbox = report["outbox"]
    if outbox["unsent"] and outbox["lag_seconds"] > OUTBOX_LAG_LIMIT_S:
        problems.append(f"outbox: {outbox['unsent']} unsent PMS change(s), the oldest "
                        f"{format_duration(outbox['lag_seconds'])} old (is `qlosync relay` running?)")
    return {"healthy": not problems, "problems": problems}


def _shop_problems(shop: dict[str, Any], sync_interval_ms: int) -> list[str]:
    problems: list[str] = []
    name = shop["name"]
    if shop["pms_hotel_problem"]:
        problems.append(f"shop {name}: {shop['pms_hotel_problem']}")
    run = shop["last_run"]
    if run and run["status"] == RunStatus.FAILED:
        error = (run["error"] or "no error recorded").strip().splitlines()
        problems.append(f"shop {name}: last run #{run['id']} ({run['kind']}) failed: {error[0] if error else ''}")
    since = shop["seconds_since_successful_sync"]
    if not is_overdue(since, shop["configured_seconds_ago"], sync_interval_ms):
        return problems
    if since is not None:
        problems.append(f"shop {name}: last successful sync {format_duration(since)} ago "
                        f"(expected within {format_duration(overdue_after_s(sync_interval_ms))})")
    else:
        problems.append(f"shop {name}: has never synced successfully, configured "
                        f"{format_duration(shop['configured_seconds_ago'])} ago")
    return problems


def _breaker_problems(rows: list[dict[str, Any]]) -> list[str]:
    # A row's open_until is set only while the breaker is open; a disabled shop is sent nothing anyway.
    return [f"shop {row['name']}: circuit breaker open until {row['open_until']}, {row['failures']} failures in a "
            f"row: {_first_line(row['last_error'])}"
            for row in rows if row["enabled"] and row["open_until"]]


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "no error recorded"


def _seconds(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0), 1)


def format_duration(seconds: float) -> str:
    """A short human duration: ``45 s``, ``12 min``, ``3.5 h``, ``2 d``."""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


def status_report(settings: Settings, engine: Engine, sessions: sessionmaker[Session]) -> dict[str, Any]:
    """``qlosync status --json`` and ``GET /api/v1/qloapps/status``: the schema revision, then (when the
    schema is current) everything :func:`collect_status` gathers, always with a ``health`` verdict."""
    current = migrate.current_revision(engine)
    head = migrate.head_revision(settings.database_url)
    report: dict[str, Any] = {"schema": {"current": current, "head": head}}
    problem = migrate.schema_problem(current, head)
    if problem is None:
        with transaction(sessions) as session:
            report.update(collect_status(session, amqp_url=settings.rabbitmq_url,
                                         sync_interval_ms=settings.sync_interval_ms))
    else:
        report["health"] = {"healthy": False, "problems": [problem]}
    return report
