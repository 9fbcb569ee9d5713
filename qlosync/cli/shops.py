"""``qlosync shops``: manage many QloApps shops at once, and see which of them need a person."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from qlosync.cli.context import RET_ERROR, RET_UNHEALTHY, CliContext, CliError, command_errors, pass_cli
from qlosync.cli.params import MAX_CONCURRENT, MAX_RPS, hotel_id_option
from qlosync.ops import shops as shop_ops
from qlosync.ops.shops import ATTENTION_STATES, ShopImportError
from qlosync.ops.status import format_duration
from qlosync.secrets import Secret

#: How much of a last error fits on a table line.
ERROR_WIDTH = 80
TABLE_COLUMNS = ("NAME", "STATE", "PMS HOTEL", "LAST RUN", "LAST SUCCESS", "FAILS", "BREAKER UNTIL", "LIMITS",
                 "LAST ERROR")

#: ``--pms-hotel ID`` of `shops add/set` and `config set`: the PMS's id as text; ``''`` clears it.
pms_hotel_option = click.option(
    "--pms-hotel", "pms_hotel_id", metavar="ID",
    help="The PMS hotel this shop syncs with (an id the PMS has; '' clears it: the PMS's only hotel).")


@click.group("shops")
def shops_group() -> None:
    """Add, change, remove and import QloApps shops; list them, those needing attention first."""


def _read_key(from_stdin: bool) -> Secret | None:
    if not from_stdin:
        return None
    value = click.prompt("QloApps API key", hide_input=True, err=True) if sys.stdin.isatty() else sys.stdin.readline()
    return Secret(value.strip())


@shops_group.command("add")
@click.argument("name")
@click.option("--base-url", required=True, help="The shop's URL, e.g. https://booking.example.com.")
@click.option("--api-key-stdin", is_flag=True, help="Read the API key from standard input (required).")
@click.option("--disabled", is_flag=True, help="Add the shop with sync switched off.")
@click.option("--max-concurrent", type=MAX_CONCURRENT, help="Requests at once to this shop, from all hosts (1-64).")
@click.option("--max-rps", type=MAX_RPS, help="Requests per second to this shop, from all hosts (max 1000).")
@hotel_id_option
@pms_hotel_option
@pass_cli
@command_errors
def shops_add(cli: CliContext, name: str, base_url: str, api_key_stdin: bool, disabled: bool,
              max_concurrent: int | None, max_rps: float | None, id_hotel: int | None,
              pms_hotel_id: str | None) -> None:
    """Add the shop NAME (sync on unless --disabled). The key is never accepted as an argument."""
    key = _read_key(api_key_stdin)
    if key is None:
        raise CliError("a new shop needs its API key: give --api-key-stdin and the key on standard input", 2)
    with cli.session() as session:
        row = shop_ops.add_shop(session, cli.settings, name, base_url=base_url, api_key=key, enabled=not disabled,
                                id_hotel=id_hotel, max_concurrent_requests=max_concurrent,
                                max_requests_per_second=max_rps, pms_hotel_id=pms_hotel_id)
        click.echo(f"added shop {row.name!r} ({row.base_url}, sync {'on' if row.sync_enabled else 'off'}, "
                   f"{_limits(row.max_concurrent_requests, row.max_requests_per_second)}"
                   f"{_pms_hotel(row.pms_hotel_id)})")


@shops_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--attention", is_flag=True, help="Only the shops that need a person.")
@pass_cli
@command_errors
def shops_list(cli: CliContext, as_json: bool, attention: bool) -> None:
    """Every shop, those needing attention first (breaker open, failing, overdue, ok, disabled).

    Exit code 4 when any enabled shop needs attention.
    """
    with cli.session() as session:
        rows = shop_ops.shop_status(session, sync_interval_ms=cli.settings.sync_interval_ms)
    shown = [r for r in rows if r.needs_attention] if attention else rows
    if as_json:
        click.echo(json.dumps({"summary": shop_ops.summarise(rows), "shops": [r.as_json() for r in shown]}, indent=2))
    else:
        for line in table_lines([r.as_json() for r in shown]):
            click.echo(line)
        click.echo(shop_ops.summary_line(rows))
    if any(r.needs_attention for r in rows):
        click.get_current_context().exit(RET_UNHEALTHY)


@shops_group.command("enable")
@click.argument("names", nargs=-1, required=True)
@pass_cli
@command_errors
def shops_enable(cli: CliContext, names: Sequence[str]) -> None:
    """Switch sync on for these shops (none changes if one is unknown)."""
    _set_enabled(cli, names, True)


@shops_group.command("disable")
@click.argument("names", nargs=-1, required=True)
@pass_cli
@command_errors
def shops_disable(cli: CliContext, names: Sequence[str]) -> None:
    """Switch sync off for these shops (none changes if one is unknown)."""
    _set_enabled(cli, names, False)


def _set_enabled(cli: CliContext, names: Sequence[str], enabled: bool) -> None:
    with cli.session() as session:
        changed = shop_ops.set_enabled(session, names, enabled)
    click.echo(f"sync {'on' if enabled else 'off'} for {len(changed)} shop(s): {', '.join(changed)}")


@shops_group.command("set")
@click.argument("name")
@click.option("--max-concurrent", type=MAX_CONCURRENT, help="Requests at once to this shop, from all hosts (1-64).")
@click.option("--max-rps", type=MAX_RPS, help="Requests per second to this shop, from all hosts (max 1000).")
@click.option("--base-url", help="The shop's URL.")
@click.option("--api-key-stdin", is_flag=True, help="Read a new API key from standard input.")
@hotel_id_option
@pms_hotel_option
@pass_cli
@command_errors
def shops_set(cli: CliContext, name: str, max_concurrent: int | None, max_rps: float | None, base_url: str | None,
              api_key_stdin: bool, id_hotel: int | None, pms_hotel_id: str | None) -> None:
    """Change the shop NAME; only the options given change."""
    key = _read_key(api_key_stdin)
    with cli.session() as session:
        row = shop_ops.update_shop(session, cli.settings, name, base_url=base_url, api_key=key,
                                   max_concurrent_requests=max_concurrent, max_requests_per_second=max_rps,
                                   id_hotel=id_hotel, pms_hotel_id=pms_hotel_id)
        click.echo(f"saved shop {row.name!r} ({row.base_url}, hotel {row.id_hotel}, "
                   f"{_limits(row.max_concurrent_requests, row.max_requests_per_second)}"
                   f"{_pms_hotel(row.pms_hotel_id)})")


@shops_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Really delete the shop and everything qlosync kept about it.")
@pass_cli
@command_errors
def shops_remove(cli: CliContext, name: str, yes: bool) -> None:
    """Delete the shop NAME with its mappings, runs and logs (needs --yes)."""
    with cli.session() as session:
        if not yes:
            raise CliError(f"not removed: this would delete {shop_ops.shop_data(session, name).describe()}; "
                           "add --yes to delete it", RET_ERROR)
        removed = shop_ops.remove_shop(session, name)
    click.echo(f"removed {removed.describe()}")


@shops_group.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change, without writing.")
@pass_cli
@command_errors
def shops_import(cli: CliContext, csv_file: Path, dry_run: bool) -> None:
    """Create or update shops from a CSV file (name,base_url,api_key[,enabled,id_hotel,pms_hotel_id,
    max_concurrent_requests,max_requests_per_second,conflict_strategy]); all or nothing."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{csv_file} is not UTF-8 text") from None
    try:
        with cli.session() as session:
            report = shop_ops.import_csv(session, cli.settings, text, dry_run=dry_run)
    except ShopImportError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        raise CliError(f"{len(exc.errors)} error(s) in {csv_file}; nothing was imported") from None
    click.echo(f"{report.describe()}{' (dry run: nothing written)' if dry_run else ''}")


@shops_group.command("reset-breaker")
@click.argument("name")
@pass_cli
@command_errors
def shops_reset_breaker(cli: CliContext, name: str) -> None:
    """Close the shop's circuit breaker by hand (once its website works again)."""
    with cli.session() as session:
        was_open = shop_ops.reset_shop_breaker(cli.engine, session, name)
    click.echo(f"breaker of shop {name!r} {'closed' if was_open else 'was already closed'}")


# -- the table (also printed by `qlosync status` for many shops) ----------------------------------------------------


def _limits(concurrent: int, rps: float) -> str:
    return f"{concurrent} at once, {rps:g}/s"


def _pms_hotel(pms_hotel_id: str | None) -> str:
    # Said only when one is set: a shop of a single-hotel PMS needs none, and its line stays as it was.
    return f", PMS hotel {pms_hotel_id}" if pms_hotel_id is not None else ""


def pms_hotel_text(row: dict[str, Any]) -> str:
    """A shop's PMS hotel in words, from a row of `shops list --json` or a shop of `status --json`."""
    stored, effective = row["pms_hotel_id"], row["effective_pms_hotel_id"]
    if stored is not None:
        return stored if effective is not None else f"{stored} (not in the PMS)"
    return f"{effective} (the PMS's only hotel)" if effective is not None else "none set"


def _age(seconds: float | None) -> str:
    return f"{format_duration(seconds)} ago" if seconds is not None else "never"


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    last_run = f"{row['last_run_status']} #{row['last_run_id']}" if row["last_run_id"] is not None else "none"
    # Only a shop that is not ok says why: the gate's error first (it is the newest), then the run's.
    why = "" if row["state"] not in ATTENTION_STATES else \
        (row["last_error"] or row["last_run_error"] or row["full_sync_reason"] or "")
    error = why.strip().splitlines()
    return (row["name"], row["state"].replace("_", " "), _pms_hotel_cell(row), last_run,
            _age(row["seconds_since_successful_sync"]), str(row["failures"]), row["open_until"] or "-",
            _limits(row["max_concurrent_requests"], row["max_requests_per_second"]),
            error[0][:ERROR_WIDTH] if error else "")


def _pms_hotel_cell(row: dict[str, Any]) -> str:
    # Short, for a table of many shops; `qlosync status` says the same in words (pms_hotel_text).
    stored, effective = row["pms_hotel_id"], row["effective_pms_hotel_id"]
    if stored is not None:
        return stored if effective is not None else f"{stored} (not in PMS)"
    return f"{effective} (only)" if effective is not None else "not set"


def table_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Shop rows (as in JSON) as an aligned table, header first; the last column is not padded."""
    if not rows:
        return []
    cells = [TABLE_COLUMNS] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE_COLUMNS) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]]).rstrip()
            for line in cells]
