"""Each shop's status in attention order (one query per table, whatever the count), the counts by state,
and closing a shop's circuit breaker by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from qlosync.db.config_store import get_config_row
from qlosync.db.models import QloAppsConfig, QloAppsShopGate, QloAppsSyncCursor, QloAppsSyncState
from qlosync.ops.overdue import is_overdue
from qlosync.ops.shops.hotels import effective_hotel, pms_hotels
from qlosync.pms.port import Hotel
from qlosync.secrets import without_credentials
from qlosync.settings import DEFAULT_SYNC_INTERVAL_MS
from qlosync.states import RunStatus, ShopState
from qlosync.sync.gate import reset_breaker

#: States in attention order (the index is the rank); the first three need a person.
STATES = tuple(ShopState)
ATTENTION_STATES = STATES[:3]


@dataclass(frozen=True)
class ShopStatusRow:
    """One line of `qlosync shops list`: a shop's settings (never its key) and how it is doing."""

    # The API answers this row as it is (qlosync.api.models.ShopView): the descriptions are its OpenAPI document's.

    name: str
    enabled: bool
    state: Annotated[ShopState, Field(description="breaker_open, failing, overdue, ok or disabled (attention order).")]
    attention: Annotated[int, Field(description="The state's rank: 0 needs a person first, 4 is disabled.")]
    base_url: str
    api_key_set: Annotated[bool, Field(description="Whether an API key is stored; the key itself is never returned.")]
    id_hotel: int
    pms_hotel_id: Annotated[str | None, Field(
        description="The PMS hotel this shop syncs with, as set (`--pms-hotel`, `pms_hotel_id`); null: none set, "
                    "the PMS's only hotel is meant.")]
    effective_pms_hotel_id: Annotated[str | None, Field(
        description="The PMS hotel the shop does sync with: pms_hotel_id, or the PMS's only hotel when that is "
                    "null. Null when there is none: the PMS has several hotels and none is set, or no longer has "
                    "the one set (`qlosync status` lists it as a problem).")]
    conflict_strategy: str
    max_concurrent_requests: int
    max_requests_per_second: float
    last_run_id: int | None
    last_run_kind: str | None
    last_run_status: str | None
    last_run_started_at: datetime | None
    last_run_finished_at: datetime | None
    last_run_error: str | None
    last_successful_sync: datetime | None
    seconds_since_successful_sync: float | None
    failures: Annotated[int, Field(description="Failed requests in a row (no answer, timeout, 5xx).")]
    open_until: Annotated[datetime | None, Field(
        description="While set, the circuit breaker is open: no requests, no pulls.")]
    last_error: Annotated[str | None, Field(description="The last failed request's error.")]
    full_sync_reason: Annotated[str | None, Field(description="Why the next pull will be a full one, if it will.")]

    @property
    def needs_attention(self) -> bool:
        return self.state in ATTENTION_STATES

    def as_json(self) -> dict[str, Any]:
        """Times written like the rest of `qlosync status --json`."""
        return {k: v.isoformat(sep=" ", timespec="seconds") if isinstance(v, datetime) else v
                for k, v in asdict(self).items()}


def _state(shop: QloAppsConfig, now: datetime, run: QloAppsSyncState | None, failures: int,
           open_until: datetime | None, synced_at: datetime | None, sync_interval_ms: int) -> ShopState:
    # A disabled shop gets no pulls, so whatever its breaker or last run say is history.
    if not shop.sync_enabled:
        return ShopState.DISABLED
    if open_until is not None and open_until > now:
        return ShopState.BREAKER_OPEN
    if failures > 0 or (run is not None and run.status == RunStatus.FAILED):
        return ShopState.FAILING
    since = (now - synced_at).total_seconds() if synced_at is not None else None
    if is_overdue(since, (now - shop.created_at).total_seconds(), sync_interval_ms):
        return ShopState.OVERDUE
    return ShopState.OK


def shop_status(session: Session, *, sync_interval_ms: int = DEFAULT_SYNC_INTERVAL_MS,
                names: Sequence[str] | None = None) -> list[ShopStatusRow]:
    """Every shop (or those named), attention first then by name: one query per table, whatever the count."""
    shops_query = select(QloAppsConfig)
    if names is not None:
        shops_query = shops_query.where(QloAppsConfig.name.in_(names))
    shops = session.scalars(shops_query).all()
    ids = [shop.id for shop in shops]
    now: datetime = session.execute(select(func.now())).scalar_one()  # PostgreSQL's clock, like the stored times
    cursors = {c.config_id: c for c in session.scalars(
        select(QloAppsSyncCursor).where(QloAppsSyncCursor.config_id.in_(ids)))}
    last_runs = {r.config_id: r for r in session.scalars(
        select(QloAppsSyncState).where(QloAppsSyncState.config_id.in_(ids))
        .order_by(QloAppsSyncState.config_id, QloAppsSyncState.started_at.desc(), QloAppsSyncState.id.desc())
        .ext(distinct_on(QloAppsSyncState.config_id)))}
    gates = {g.config_id: g for g in session.scalars(
        select(QloAppsShopGate).where(QloAppsShopGate.config_id.in_(ids)))}
    hotels = pms_hotels(session)  # once for every shop: which hotel a shop without one gets depends on them all
    rows = [_status_row(shop, now, cursors.get(shop.id), last_runs.get(shop.id), gates.get(shop.id), sync_interval_ms,
                        hotels)
            for shop in shops]
    rows.sort(key=lambda r: (r.attention, r.name))
    return rows


def _status_row(shop: QloAppsConfig, now: datetime, cursor: QloAppsSyncCursor | None, run: QloAppsSyncState | None,
                gate: QloAppsShopGate | None, sync_interval_ms: int, hotels: Sequence[Hotel]) -> ShopStatusRow:
    synced_at = cursor.last_successful_sync if cursor else None
    failures = gate.failures if gate else 0
    open_until = gate.open_until if gate else None
    state = _state(shop, now, run, failures, open_until, synced_at, sync_interval_ms)
    return ShopStatusRow(
        name=shop.name, enabled=shop.sync_enabled, state=state, attention=STATES.index(state),
        base_url=without_credentials(shop.base_url), api_key_set=bool(shop.api_key_encrypted), id_hotel=shop.id_hotel,
        pms_hotel_id=shop.pms_hotel_id, effective_pms_hotel_id=effective_hotel(hotels, shop.pms_hotel_id),
        conflict_strategy=shop.conflict_strategy, max_concurrent_requests=shop.max_concurrent_requests,
        max_requests_per_second=shop.max_requests_per_second,
        last_run_id=run.id if run else None, last_run_kind=run.kind if run else None,
        last_run_status=run.status if run else None, last_run_started_at=run.started_at if run else None,
        last_run_finished_at=run.finished_at if run else None, last_run_error=_run_error(run),
        last_successful_sync=synced_at,
        seconds_since_successful_sync=round(max((now - synced_at).total_seconds(), 0.0), 1) if synced_at else None,
        failures=failures, open_until=open_until if open_until is not None and open_until > now else None,
        last_error=gate.last_error if gate else None,
        full_sync_reason=cursor.full_sync_reason if cursor else None,
    )


def _run_error(run: QloAppsSyncState | None) -> str | None:
    # A skipped run's error column holds why it skipped (e.g. another pull held the shop): not a failure.
    return run.error if run is not None and run.status != RunStatus.SKIPPED else None


def summarise(rows: Sequence[ShopStatusRow]) -> dict[str, int]:
    """How many shops are in each state, in attention order."""
    return {state.value: sum(r.state == state for r in rows) for state in STATES}


def summary_line(rows: Sequence[ShopStatusRow]) -> str:
    """E.g. ``1000 shops: 2 breaker open, 3 failing, 0 overdue, 990 ok, 5 disabled``."""
    return summary_text(summarise(rows))


def summary_text(counts: dict[str, int]) -> str:
    """:func:`summary_line` from the counts of :func:`summarise` (what `qlosync status --json` carries)."""
    total = sum(counts.values())
    parts = ", ".join(f"{count} {state.replace('_', ' ')}" for state, count in counts.items())
    return f"{total} shop{'s' if total != 1 else ''}: {parts}"


def reset_shop_breaker(engine: Engine, session: Session, name: str) -> bool:
    """Close the named shop's breaker; True if it was open or counting failures."""
    return reset_breaker(engine, get_config_row(session, name).id)
