"""Managing many shops: add, change, remove, import from CSV, and each one's status in attention order.
Finding one for an operation is qlosync.db.config_store.get_config_row (an unknown shop is its own error,
so the API answers 404) and qlosync.sync.service.load_shop_config (with its key decrypted)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from qlosync import fields
from qlosync.crypto import KeyCipher
from qlosync.db.config_store import (
    KeyNeededForNewUrlError,
    UnknownShopError,
    find_config,
    get_config_row,
    require_key_for_new_url,
    save_config,
)
from qlosync.db.models import (
    QloAppsConfig,
    QloAppsReservationMapping,
    QloAppsRoomTypeMapping,
    QloAppsShopGate,
    QloAppsSyncCursor,
    QloAppsSyncLog,
    QloAppsSyncState,
)
from qlosync.db.session import transaction
from qlosync.errors import ConfigurationError
from qlosync.fields import InvalidValueError
from qlosync.ops.overdue import is_overdue
from qlosync.secrets import Secret, mask, without_credentials
from qlosync.settings import DEFAULT_SYNC_INTERVAL_MS, Settings
from qlosync.sync.gate import reset_breaker


# -- managing many shops ------------------------------------------------------------------------------------------
# Used alike by `qlosync shops` and /api/v1/shops. The API key goes in and never comes out: errors give
# lengths, listings say only whether a key is stored.

#: States in attention order (the list index is the rank); the first three need a person.
STATES = ("breaker_open", "failing", "overdue", "ok", "disabled")
ATTENTION_STATES = STATES[:3]


class DuplicateShopError(ConfigurationError):
    """A shop of that name already exists."""


class InvalidShopError(InvalidValueError):
    """A shop's settings break a rule (URL, key, limits, name...)."""


class ShopImportError(InvalidShopError):
    """A CSV file with problems: ``errors`` has every one, each with its line; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the CSV, nothing was imported:\n" + "\n".join(errors))


@dataclass(frozen=True)
class ShopChanges:
    """Settings to give a shop; None keeps what is stored."""

    base_url: str | None = None
    api_key: Secret | None = None
    enabled: bool | None = None
    id_hotel: int | None = None
    conflict_strategy: str | None = None
    max_concurrent_requests: int | None = None
    max_requests_per_second: float | None = None


def check_name(name: str) -> str:
    try:
        return fields.shop_name(name)
    except InvalidValueError as exc:
        raise InvalidShopError(str(exc)) from None


def _problems(changes: ShopChanges, *, allow_link_local: bool) -> tuple[ShopChanges, list[str]]:
    """The changes made canonical (URL normalised), and every rule they break (one line each, never the key
    nor the URL: either could have slipped into the wrong CSV column)."""
    problems: list[str] = []
    canonical: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], object]] = {"base_url": lambda url: fields.base_url(url, allow_link_local=allow_link_local),
              "api_key": fields.api_key, "id_hotel": fields.hotel_id,
              "conflict_strategy": fields.conflict_strategy,
              "max_concurrent_requests": fields.max_concurrent_requests,
              "max_requests_per_second": fields.max_requests_per_second}
    for attribute, check in checks.items():
        value = getattr(changes, attribute)
        if value is None:
            continue
        try:
            canonical[attribute] = check(value)
        except InvalidValueError as exc:
            problems.append(str(exc))
    return replace(changes, **canonical), problems


def _checked(changes: ShopChanges, settings: Settings) -> ShopChanges:
    canonical, problems = _problems(changes, allow_link_local=settings.allow_link_local_urls)
    if problems:
        raise InvalidShopError("; ".join(problems))
    return canonical


def _save(session: Session, settings: Settings, cipher: KeyCipher | None, name: str, changes: ShopChanges,
          stored: QloAppsConfig | None) -> QloAppsConfig:
    """Already checked changes, through the one writer (config_store.save_config)."""
    return save_config(session, cipher, name=name, base_url=changes.base_url, api_key=changes.api_key,
                       sync_enabled=changes.enabled, id_hotel=changes.id_hotel,
                       conflict_strategy=changes.conflict_strategy,
                       max_concurrent_requests=changes.max_concurrent_requests,
                       max_requests_per_second=changes.max_requests_per_second,
                       allow_link_local_urls=settings.allow_link_local_urls, stored=stored)


def _cipher_for(settings: Settings, changes: ShopChanges) -> KeyCipher | None:
    return KeyCipher(settings.require_secret_key()) if changes.api_key is not None else None


def add_shop(session: Session, settings: Settings, name: str, *, base_url: str, api_key: Secret,
             enabled: bool = True, id_hotel: int | None = None, conflict_strategy: str | None = None,
             max_concurrent_requests: int | None = None,
             max_requests_per_second: float | None = None) -> QloAppsConfig:
    """A new shop (sync on unless told otherwise); DuplicateShopError if the name is taken."""
    check_name(name)
    changes = _checked(ShopChanges(base_url=base_url, api_key=api_key, enabled=enabled, id_hotel=id_hotel,
                                   conflict_strategy=conflict_strategy,
                                   max_concurrent_requests=max_concurrent_requests,
                                   max_requests_per_second=max_requests_per_second), settings)
    if find_config(session, name) is not None:
        raise DuplicateShopError(f"QloApps shop {name!r} already exists (change it with `qlosync shops set`)")
    return _save(session, settings, _cipher_for(settings, changes), name, changes, None)


def update_shop(session: Session, settings: Settings, name: str, *, enabled: bool | None = None,
                base_url: str | None = None, api_key: Secret | None = None,
                max_concurrent_requests: int | None = None, max_requests_per_second: float | None = None,
                id_hotel: int | None = None, conflict_strategy: str | None = None) -> QloAppsConfig:
    """Change an existing shop; only the given settings change."""
    changes = _checked(ShopChanges(base_url=base_url, api_key=api_key, enabled=enabled, id_hotel=id_hotel,
                                   conflict_strategy=conflict_strategy,
                                   max_concurrent_requests=max_concurrent_requests,
                                   max_requests_per_second=max_requests_per_second), settings)
    row = get_config_row(session, name)
    return _save(session, settings, _cipher_for(settings, changes), name, changes, row)


def set_enabled(session: Session, names: Sequence[str], enabled: bool) -> list[str]:
    """Switch sync on or off for these shops (all or none: an unknown name changes nothing)."""
    rows = session.scalars(select(QloAppsConfig).where(QloAppsConfig.name.in_(names))).all()
    missing = sorted(set(names) - {row.name for row in rows})
    if missing:
        raise UnknownShopError(f"no QloApps shop named {', '.join(map(repr, missing))}; nothing was changed")
    for row in rows:
        row.sync_enabled = enabled
    session.flush()
    return sorted(row.name for row in rows)


@dataclass(frozen=True)
class ShopData:
    """What removing a shop deletes with it (PostgreSQL cascades from qloapps_config)."""

    name: str
    reservation_mappings: int
    room_type_mappings: int
    runs: int
    sync_log_entries: int

    def describe(self) -> str:
        return (f"shop {self.name!r} with {self.reservation_mappings} reservation mapping(s), "
                f"{self.room_type_mappings} room type mapping(s), {self.runs} sync run(s) and "
                f"{self.sync_log_entries} sync log entries")


def shop_data(session: Session, name: str) -> ShopData:
    config_id = get_config_row(session, name).id

    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(model.config_id == config_id)) or 0)

    return ShopData(name=name, reservation_mappings=count(QloAppsReservationMapping),
                    room_type_mappings=count(QloAppsRoomTypeMapping), runs=count(QloAppsSyncState),
                    sync_log_entries=count(QloAppsSyncLog))


def remove_shop(session: Session, name: str) -> ShopData:
    """Delete the shop and everything qlosync kept about it; returns what was deleted."""
    data = shop_data(session, name)
    session.execute(delete(QloAppsConfig).where(QloAppsConfig.name == name))
    return data


# -- CSV import ---------------------------------------------------------------------------------------------------

REQUIRED_COLUMNS = ("name", "base_url", "api_key")
OPTIONAL_COLUMNS = ("enabled", "id_hotel", "max_concurrent_requests", "max_requests_per_second", "conflict_strategy")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class ImportReport:
    created: list[str]
    updated: list[str]
    dry_run: bool

    def describe(self) -> str:
        verb = "would create" if self.dry_run else "created"
        again = "would update" if self.dry_run else "updated"
        return f"{verb} {len(self.created)} shop(s), {again} {len(self.updated)}"


@dataclass(frozen=True)
class _CsvRow:
    line: int
    name: str
    changes: ShopChanges


def _shown(cell: str) -> str:
    """A CSV cell quoted for a message; one as long as an API key (columns slipped, no header row) is masked
    like `qlosync config show` masks keys."""
    return repr(mask(cell) if len(cell) >= 32 else cell)


def _header_problems(header: list[str]) -> list[str]:
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = []
    unknown = [c for c in header if c not in known]
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(map(_shown, unknown))} "
                        f"(known: {', '.join(known)})")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        hint = "" if len(missing) < len(REQUIRED_COLUMNS) else " (is the first line a header row?)"
        problems.append(f"line 1: missing required column(s) {', '.join(missing)}{hint}")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        problems.append(f"line 1: column(s) {', '.join(twice)} given twice")
    return problems


def _parse_cell(column: str, value: str) -> tuple[Any, str | None]:
    """(value, problem) for one non-empty optional cell. A bad value is not echoed: if the columns slipped,
    it could be someone's API key."""
    if column == "enabled":
        flag = _BOOLEANS.get(value.lower())
        return flag, None if flag is not None else "enabled must be true/false, 1/0 or yes/no"
    return value, None  # numbers too: qlosync.fields reads them from the text, as from the command line


def _parse_row(line: int, cells: dict[str, str], allow_link_local: bool) -> tuple[_CsvRow | None, list[str]]:
    problems: list[str] = []
    name = cells.get("name", "")
    try:
        check_name(name)
    except InvalidShopError as exc:
        problems.append(str(exc))
    given: dict[str, Any] = {}
    for column in OPTIONAL_COLUMNS:
        if cells.get(column):
            value, problem = _parse_cell(column, cells[column])
            if problem:
                problems.append(problem)
            given[column] = value
    changes = ShopChanges(base_url=cells.get("base_url") or None,
                          api_key=Secret(cells["api_key"]) if cells.get("api_key") else None, **given)
    canonical, rule_problems = _problems(changes, allow_link_local=allow_link_local)
    problems += rule_problems
    return (None if problems else _CsvRow(line, name, canonical)), [f"line {line}: {p}" for p in problems]


def _read_csv(text: str, allow_link_local: bool) -> tuple[list[_CsvRow], list[str]]:
    """Every row parsed and checked on its own, and every problem with its line."""
    # newline="": a line break inside a quoted cell stays in the cell, a bare CR ends the line.
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _read_rows(reader, allow_link_local)
    except csv.Error as exc:
        return [], [f"line {reader.line_num}: not valid CSV ({exc})"]


def _read_rows(reader: Any, allow_link_local: bool) -> tuple[list[_CsvRow], list[str]]:
    header = [c.strip().lower() for c in next(reader, [])]
    if not any(header):
        return [], ["line 1: the file is empty; it needs a header row: " + ",".join(REQUIRED_COLUMNS)]
    problems = _header_problems(header)
    if problems:
        return [], problems
    rows: list[_CsvRow] = []
    first_line: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            problems.append(f"line {line}: {len(raw)} field(s), the header has {len(header)}")
            continue
        cells = {column: cell.strip() for column, cell in zip(header, raw, strict=True)}
        name = cells["name"]
        if name in first_line:
            problems.append(f"line {line}: shop {_shown(name)} is already on line {first_line[name]}")
            continue
        row, row_problems = _parse_row(line, cells, allow_link_local)
        if row is not None:
            first_line[name] = line
            rows.append(row)
        problems += row_problems
    return rows, problems


def import_csv(session: Session, settings: Settings, text: str, *, dry_run: bool = False) -> ImportReport:
    """Create or update shops from CSV text, all or nothing (the caller's transaction); ShopImportError lists
    every problem with its line. Existing shops (by name) change only where a cell is not empty."""
    rows, problems = _read_csv(text, settings.allow_link_local_urls)
    existing = {row.name: row for row in session.scalars(
        select(QloAppsConfig).where(QloAppsConfig.name.in_([r.name for r in rows])))} if rows else {}
    for row in rows:
        if row.name not in existing and (row.changes.base_url is None or row.changes.api_key is None):
            problems.append(f"line {row.line}: new shop {_shown(row.name)} needs a base_url and an api_key")
        elif row.name in existing:
            try:
                require_key_for_new_url(existing[row.name].base_url, row.changes.base_url, row.changes.api_key)
            except KeyNeededForNewUrlError as exc:
                problems.append(f"line {row.line}: {exc}")
    if problems:
        problems.sort(key=lambda p: int(p.split(":", 1)[0].removeprefix("line ")))
        raise ShopImportError(problems)
    if not rows:
        raise ShopImportError(["line 2: the file has no shops under its header"])
    report = ImportReport(created=[r.name for r in rows if r.name not in existing],
                          updated=[r.name for r in rows if r.name in existing], dry_run=dry_run)
    if dry_run:
        return report
    cipher = KeyCipher(settings.require_secret_key())
    for row in rows:
        target = existing.get(row.name)
        # A new shop of the file has sync on unless its `enabled` cell says otherwise (like `shops add`).
        changes = row.changes if target is not None or row.changes.enabled is not None \
            else replace(row.changes, enabled=True)
        _save(session, settings, cipher, row.name, changes, target)
    return report


# -- per-shop status ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopStatusRow:
    """One line of `qlosync shops list`: a shop's settings (never its key) and how it is doing."""

    name: str
    enabled: bool
    state: str
    attention: int  # index in STATES: lower needs a person sooner
    base_url: str
    api_key_set: bool
    id_hotel: int
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
    failures: int
    open_until: datetime | None
    last_error: str | None
    full_sync_reason: str | None

    @property
    def needs_attention(self) -> bool:
        return self.state in ATTENTION_STATES

    def as_json(self) -> dict[str, Any]:
        """Times written like the rest of `qlosync status --json`."""
        return {k: v.isoformat(sep=" ", timespec="seconds") if isinstance(v, datetime) else v
                for k, v in asdict(self).items()}


def _state(shop: QloAppsConfig, now: datetime, run: QloAppsSyncState | None, failures: int,
           open_until: datetime | None, synced_at: datetime | None, sync_interval_ms: int) -> str:
    # A disabled shop gets no pulls, so whatever its breaker or last run say is history.
    if not shop.sync_enabled:
        return "disabled"
    if open_until is not None and open_until > now:
        return "breaker_open"
    if failures > 0 or (run is not None and run.status == "failed"):
        return "failing"
    since = (now - synced_at).total_seconds() if synced_at is not None else None
    if is_overdue(since, (now - shop.created_at).total_seconds(), sync_interval_ms):
        return "overdue"
    return "ok"


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
    rows = [_status_row(shop, now, cursors.get(shop.id), last_runs.get(shop.id), gates.get(shop.id), sync_interval_ms)
            for shop in shops]
    rows.sort(key=lambda r: (r.attention, r.name))
    return rows


def _status_row(shop: QloAppsConfig, now: datetime, cursor: QloAppsSyncCursor | None, run: QloAppsSyncState | None,
                gate: QloAppsShopGate | None, sync_interval_ms: int) -> ShopStatusRow:
    synced_at = cursor.last_successful_sync if cursor else None
    failures = gate.failures if gate else 0
    open_until = gate.open_until if gate else None
    state = _state(shop, now, run, failures, open_until, synced_at, sync_interval_ms)
    return ShopStatusRow(
        name=shop.name, enabled=shop.sync_enabled, state=state, attention=STATES.index(state),
        base_url=without_credentials(shop.base_url), api_key_set=bool(shop.api_key_encrypted), id_hotel=shop.id_hotel,
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
    return run.error if run is not None and run.status != "skipped" else None


def summarise(rows: Sequence[ShopStatusRow]) -> dict[str, int]:
    """How many shops are in each state, in attention order."""
    return {state: sum(r.state == state for r in rows) for state in STATES}


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
