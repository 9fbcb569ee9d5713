"""Creating or updating shops from a CSV file, all or nothing: every problem is reported with its line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.crypto import KeyCipher
from qlosync.db.config_store import KeyNeededForNewUrlError, require_key_for_new_url
from qlosync.db.models import QloAppsConfig
from qlosync.ops.shops.crud import InvalidShopError, ShopChanges, check_name, rule_problems, save_changes
from qlosync.ops.shops.hotels import UnknownPmsHotelError, check_pms_hotel, pms_hotels
from qlosync.secrets import Secret, mask
from qlosync.settings import Settings


class ShopImportError(InvalidShopError):
    """A CSV file with problems: ``errors`` has every one, each with its line; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the CSV, nothing was imported:\n" + "\n".join(errors))


REQUIRED_COLUMNS = ("name", "base_url", "api_key")
OPTIONAL_COLUMNS = ("enabled", "id_hotel", "pms_hotel_id", "max_concurrent_requests", "max_requests_per_second",
                    "conflict_strategy")
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
    canonical, broken_rules = rule_problems(changes, allow_link_local=allow_link_local)
    problems += broken_rules
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


def _hotel_problems(session: Session, rows: list[_CsvRow]) -> list[str]:
    """Each row's pms_hotel_id checked against the PMS's hotels (asked once for the whole file). An empty cell
    keeps the stored hotel, like any empty cell: clearing one is `qlosync shops set NAME --pms-hotel ''`."""
    given = [row for row in rows if row.changes.pms_hotel_id]
    if not given:
        return []
    hotels = pms_hotels(session)
    problems = []
    for row in given:
        try:
            check_pms_hotel(hotels, row.changes.pms_hotel_id or "")
        except UnknownPmsHotelError as exc:
            problems.append(f"line {row.line}: {exc}")
    return problems


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
    problems += _hotel_problems(session, rows)
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
        save_changes(session, settings, cipher, row.name, changes, target)
    return report
