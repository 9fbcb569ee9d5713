"""``qlosync ari push / diff``: PMS rates and availability against what qlosync keeps in QloApps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli, shop_option
from qlosync.db.config_store import ShopConfig
from qlosync.db.models import QloAppsRoomTypeMapping
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.pms import open_pms, shop_hotel
from qlosync.pms.port import PmsId
from qlosync.sync.ari.availability import AvailabilityPending, availability_diff, push_availability
from qlosync.sync.create_once import CreatePending, settle_window_of
from qlosync.sync.ari.rates import RatesMismatch, diff_rates, push_rates
from qlosync.sync.service import load_shop_config, open_client


def _range(first: date | None, last: date | None, days: int) -> tuple[date, date]:
    start = first or datetime.now(UTC).date()
    end = last or start + timedelta(days=days - 1)
    if end < start:
        raise CliError(f"--to {end} is before --from {start}", 2)
    return start, end


def _room_types(session: Session, shop: ShopConfig, wanted: str | None) -> list[tuple[PmsId, str]]:
    """(PMS room type id, code) of the shop's mapped room types in its PMS hotel, or of the one named by id or
    code."""
    mapped = set(session.scalars(select(QloAppsRoomTypeMapping.pms_room_type_id).where(
        QloAppsRoomTypeMapping.config_id == shop.id)))
    rows = [(t.id, t.code) for t in shop_hotel(open_pms(session), shop.pms_hotel_id).room_types() if t.id in mapped]
    if wanted is None:
        return rows
    chosen = [(row_id, code) for row_id, code in rows if wanted in (row_id, code)]
    if not chosen:
        raise CliError(f"no mapped PMS room type with id or code {wanted!r} (`qlosync mappings list`)", 2)
    return chosen


range_options = [
    click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First night (default: today)."),
    click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last night (default: QLOSYNC_ARI_DAYS on)."),
    click.option("--room-type", help="One PMS room type (id or code); default: every mapped one."),
    shop_option,
]
F = TypeVar("F", bound=Callable[..., Any])


def _with_range(func: F) -> F:
    for option in reversed(range_options):
        func = option(func)
    return func


@click.group("ari")
def ari_group() -> None:
    """Rates and availability in QloApps: push the PMS's, or show where they differ."""


@ari_group.command("push")
@_with_range
@pass_cli
@command_errors
def ari_push(cli: CliContext, first: datetime | None, last: datetime | None, room_type: str | None, shop: str) -> None:
    """Write the PMS rates and closed nights / out-of-order rooms of the nights to QloApps now (only
    what differs is sent)."""
    start, end = _range(first and first.date(), last and last.date(), cli.settings.ari_days)
    sessions = make_sessionmaker(cli.engine)
    config = load_shop_config(cli.settings, sessions, shop)
    with transaction(sessions) as session:
        targets = _room_types(session, config, room_type)
    failed = 0
    with open_client(cli.settings, config) as client:
        for room_type_id, code in targets:
            try:
                r = push_rates(cli.engine, client, config, room_type_id, start, end)
                click.echo(f"{code}: rates {r.date_from}..{r.date_to}: {r.created} created, {r.updated} updated, "
                           f"{r.deleted} deleted, {r.kept} kept; {r.requests} requests")
                a = push_availability(cli.engine, client, config, room_type_id, start, end,
                                      settle_after=settle_window_of(cli.settings))
                short = f", {sum(a.short.values())} room-nights guests keep" if a.short else ""
                click.echo(f"{code}: availability {a.action}: {sum(a.held.values())} room-nights off sale{short}; "
                           f"{a.requests} requests")
            except (RatesMismatch, AvailabilityPending, CreatePending) as exc:
                failed += 1
                click.echo(f"{code}: {exc}", err=True)
    if failed:
        raise CliError(f"{failed} room types still differ after the push (see the sync log)")


@ari_group.command("diff")
@_with_range
@pass_cli
@command_errors
def ari_diff(cli: CliContext, first: datetime | None, last: datetime | None, room_type: str | None, shop: str) -> None:
    """Show the nights whose QloApps rate or rooms off sale differ from the PMS (no writes).
    Exits 1 when anything differs."""
    start, end = _range(first and first.date(), last and last.date(), cli.settings.ari_days)
    sessions = make_sessionmaker(cli.engine)
    config = load_shop_config(cli.settings, sessions, shop)
    differing = 0
    with open_client(cli.settings, config) as client, transaction(sessions) as session:
        for room_type_id, code in _room_types(session, config, room_type):
            for d in diff_rates(session, client, config, room_type_id, start, end):
                differing += 1
                qloapps = ", ".join(map(str, d.qloapps)) or "no qlosync rule (QloApps' own price)"
                others = f"; other rules {', '.join(map(str, d.other_rules))} also cover it" if d.other_rules else ""
                click.echo(f"{code} {d.night}: rate: PMS {d.pms if d.pms is not None else 'no rate'}, QloApps "
                           f"{qloapps}{others}")
            for night, held, wanted, short in availability_diff(sessions, client, config, room_type_id, start, end):
                differing += 1
                kept = f", {short} more held by guests" if short else ""
                click.echo(f"{code} {night}: off sale: {held} rooms in QloApps, the PMS wants {wanted}{kept}")
    if differing:
        raise CliError(f"{differing} differences (`qlosync ari push` writes the PMS rates and availability)")
    click.echo(f"no differences for nights {start}..{end}")
