"""``qlosync status``: what an operator checks first."""

from __future__ import annotations

import json

import click

from qlosync.cli.context import CliContext, command_errors, pass_cli
from qlosync.db import migrate
from qlosync.ops.status import collect_status


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_cli
@command_errors
def status_command(cli: CliContext, as_json: bool) -> None:
    """Show schema revision, shops, the last sync run, parked bookings, refused pushes, conflicts, outbox lag, dead letters."""
    current = migrate.current_revision(cli.engine)
    head = migrate.head_revision(cli.settings.database_url)
    report: dict[str, object] = {"schema": {"current": current, "head": head}}
    if current == head:
        with cli.session() as session:
            report.update(collect_status(session))
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    click.echo(f"schema       {current or '(empty)'}{'' if current == head else f' -> run `qlosync db upgrade` (head {head})'}")
    if current != head:
        return
    shops = report["shops"]
    assert isinstance(shops, list)
    if not shops:
        click.echo("shops        none configured (qlosync config set --base-url URL --api-key-stdin)")
    for shop in shops:
        click.echo(f"shop         {shop['name']}  {shop['base_url']}  sync {'on' if shop['sync_enabled'] else 'off'}")
        click.echo(f"  last successful sync  {shop['last_successful_sync'] or 'never'}")
        click.echo(f"  cursor                {shop['cursor'] or '(none: next pull is full)'}")
        run = shop["last_run"]
        if run:
            click.echo(
                f"  last run #{run['id']}  {run['kind']}/{run['trigger']}  {run['status']}  "
                f"seen {run['seen']} created {run['created']} updated {run['updated']} "
                f"unchanged {run['unchanged']} failed {run['failed']} parked {run['parked']}"
            )
            if run["error"]:
                click.echo(f"  last error            {run['error']}")
        click.echo(f"  reservations mapped   {shop['reservations_mapped']}   parked {shop['bookings_parked']}")
        click.echo(f"  pushes refused        {shop['pushes_refused']}   open conflicts {shop['open_conflicts']}"
                   f"{'  (qlosync conflicts list)' if shop['open_conflicts'] else ''}")
        for item in shop["refused"]:
            click.echo(f"    reservation {item['pms_reservation_id']}: {item['reason']}")
        if shop["pushes_refused"] > len(shop["refused"]):
            click.echo(f"    ... and {shop['pushes_refused'] - len(shop['refused'])} more")
        click.echo(f"  rate mismatches       {len(shop['rate_mismatches'])}"
                   f"{'  (qlosync ari diff)' if shop['rate_mismatches'] else ''}")
        for item in shop["rate_mismatches"]:
            click.echo(f"    QloApps room type {item['qloapps_room_type_id']}: {item['reason']}")
        for item in shop["stop_sell"]:
            short = (f", {item['room_nights_guests_keep']} guests keep (first {item['first_short_night']})"
                     if item["room_nights_guests_keep"] else "")
            click.echo(f"  off sale              QloApps room type {item['qloapps_room_type_id']}: "
                       f"{item['room_nights_off_sale']} room-nights{short}")
    outbox = report["outbox"]
    assert isinstance(outbox, dict)
    lag = f", oldest {outbox['lag_seconds']:g} s old (is `qlosync relay` running?)" if outbox["unsent"] else ""
    click.echo(f"outbox       {outbox['unsent']} unsent{lag}")
    click.echo(f"dead letters {report['dead_letters']}")
