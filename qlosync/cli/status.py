"""``qlosync status`` (what an operator checks first, like ``pm2 status``) and ``qlosync health`` (a probe)."""

from __future__ import annotations

import json
import socket
from typing import Any

import click
from sqlalchemy import inspect

from qlosync.cli.context import RET_ERROR, RET_UNHEALTHY, CliContext, command_errors, pass_cli
from qlosync.cli.shops import pms_hotel_text, table_lines
from qlosync.db.models import QlosyncProcess
from qlosync.states import ProcessRole, RunStatus, values
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.ops.shops import ATTENTION_STATES, summary_text
from qlosync.ops.status import format_duration, process_status, status_report


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_cli
@command_errors
def status_command(cli: CliContext, as_json: bool) -> None:
    """Processes, queues, shops and their last runs, backlog, dead letters, and problems.

    Exit code 0 when healthy, 4 when something needs a person (the problems are listed).
    """
    report = status_report(cli.settings, cli.server_engine, make_sessionmaker(cli.server_engine))
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        _print_report(report)
    if not report["health"]["healthy"]:
        click.get_current_context().exit(RET_UNHEALTHY)


@click.command("health")
@click.option("--role", type=click.Choice(values(ProcessRole)), required=True, help="The kind of process to look for.")
@pass_cli
@command_errors
def health_command(cli: CliContext, role: str) -> None:
    """Exit 0 if an alive ROLE process beats on this host, else 1 (for container healthchecks)."""
    host = socket.gethostname()
    # Any schema with the heartbeats table will do: a healthcheck must not fail a container mid-upgrade.
    if not inspect(cli.server_engine).has_table(QlosyncProcess.__tablename__):
        click.echo(f"no alive {role} on {host} (no heartbeats table: run `qlosync db upgrade`)", err=True)
        click.get_current_context().exit(RET_ERROR)
    with transaction(make_sessionmaker(cli.server_engine)) as session:
        mine = [p for p in process_status(session) if p["role"] == role and p["host"] == host]
    alive = [p for p in mine if p["state"] == "alive"]
    if alive:
        pids = ", ".join(str(p["pid"]) for p in alive)
        beat = format_duration(alive[0]["last_beat_seconds_ago"])
        click.echo(f"{role} alive on {host}: pid {pids}, last beat {beat} ago")
        return
    if mine:
        last = max(mine, key=lambda p: p["last_beat_at"])
        beat = format_duration(last["last_beat_seconds_ago"])
        seen = f"last seen: pid {last['pid']} {last['state']}, beat {beat} ago"
    else:
        seen = "none registered"
    click.echo(f"no alive {role} on {host} ({seen})", err=True)
    click.get_current_context().exit(RET_ERROR)


# -- the text report --------------------------------------------------------------------------------------------

#: Beyond this many shops, each one's runs and details would bury the rest: only those needing attention show.
MANY_SHOPS = 10
#: At most this many of them, then a pointer to `qlosync shops list --attention`.
ATTENTION_LINES = 20

PROCESS_COLUMNS = ("ID", "ROLE", "HOST", "PID", "STATE", "UPTIME", "LAST BEAT", "DONE", "FAILED", "QUEUES")


def _print_report(report: dict[str, Any]) -> None:
    schema = report["schema"]
    behind = schema["current"] != schema["head"]
    upgrade = f" -> run `qlosync db upgrade` (head {schema['head']})" if behind else ""
    click.echo(f"schema       {schema['current'] or '(empty)'}{upgrade}")
    if not behind:
        _print_processes(report["processes"])
        _print_queues(report)
        if len(report["shops"]) > MANY_SHOPS:
            _print_shop_table(report)
        else:
            for shop in report["shops"]:
                _print_runs(shop)
            _print_shops(report["shops"])
    _print_verdict(report["health"])


def _print_processes(processes: list[dict[str, Any]]) -> None:
    states = {state: sum(p["state"] == state for p in processes) for state in ("alive", "stale", "stopped")}
    click.echo(f"processes    {states['alive']} alive, {states['stale']} stale, {states['stopped']} stopped"
               f"{'' if processes else '  (none has ever beaten: are the workers, relay and scheduler running?)'}")
    if not processes:
        return
    rows = [PROCESS_COLUMNS] + [(
        str(p["id"]), p["role"], p["host"], str(p["pid"]), p["state"],
        format_duration(p["uptime_seconds"]), f"{format_duration(p['last_beat_seconds_ago'])} ago",
        str(p["messages_done"]), str(p["messages_failed"]), ",".join(p["queues"]) or "-",
    ) for p in processes]
    widths = [max(len(row[i]) for row in rows) for i in range(len(PROCESS_COLUMNS) - 1)]
    for row in rows:
        # The queues column comes last and is not padded: it is the only one of any length.
        padded = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        click.echo(f"  {padded}  {row[-1]}")


def _print_queues(report: dict[str, Any]) -> None:
    rabbitmq = report["rabbitmq"]
    if not rabbitmq["checked"]:
        click.echo("queues       (RabbitMQ not asked)")
    elif not rabbitmq["reachable"]:
        click.echo(f"queues       unknown: {rabbitmq['error']}")
    else:
        click.echo("queues       ready messages (not counting deliveries workers hold unacked)")
        for name, depth in report["queues"].items():
            detail = "not declared yet" if depth is None else \
                f"{depth['ready']:>6} ready   {depth['consumers']} consumer{'s' if depth['consumers'] != 1 else ''}"
            click.echo(f"  {name:<18} {detail}")
    click.echo(f"dead letters {report['dead_letters']}{'  (qlosync dlq list)' if report['dead_letters'] else ''}")
    outbox = report["outbox"]
    lag = f", oldest {outbox['lag_seconds']:g} s old (is `qlosync relay` running?)" if outbox["unsent"] else ""
    click.echo(f"outbox       {outbox['unsent']} unsent{lag}")


def _print_runs(shop: dict[str, Any]) -> None:
    runs = shop["recent_runs"]
    click.echo(f"runs         {shop['name']}: {'last ' + str(len(runs)) + ', newest first' if runs else 'none yet'}")
    for run in runs:
        click.echo(
            f"  #{run['id']:<6} {run['kind'] + '/' + run['trigger']:<22} {run['status']:<9} {run['started_at']}  "
            f"seen {run['seen']} created {run['created']} updated {run['updated']} "
            f"unchanged {run['unchanged']} failed {run['failed']} parked {run['parked']}"
        )


def _print_shops(shops: list[dict[str, Any]]) -> None:
    if not shops:
        click.echo("shops        none configured (qlosync config set --base-url URL --api-key-stdin)")
    for shop in shops:
        click.echo(f"shop         {shop['name']}  {shop['base_url']}  sync {'on' if shop['sync_enabled'] else 'off'}")
        click.echo(f"  pms hotel             {pms_hotel_text(shop)}")
        click.echo(f"  last successful sync  {shop['last_successful_sync'] or 'never'}")
        click.echo(f"  cursor                {shop['cursor'] or '(none: next pull is full)'}")
        run = shop["last_run"]
        # A skipped run records why it did not run (another pull held the shop): that is no error.
        if run and run["status"] == RunStatus.SKIPPED:
            click.echo(f"  last run              skipped: {run['error'] or 'no reason recorded'}")
        elif run and run["error"]:
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


def _print_shop_table(report: dict[str, Any]) -> None:
    click.echo(f"shops        {summary_text(report['shop_summary'])}")
    attention = [row for row in report["shop_rows"] if row["state"] in ATTENTION_STATES]
    for line in table_lines(attention[:ATTENTION_LINES]):
        click.echo(f"  {line}")
    if len(attention) > ATTENTION_LINES:
        click.echo(f"  … and {len(attention) - ATTENTION_LINES} more: `qlosync shops list --attention`")


def _print_verdict(health: dict[str, Any]) -> None:
    if health["healthy"]:
        click.echo("health       ok")
        return
    click.echo("problems:")
    for problem in health["problems"]:
        click.echo(f"  - {problem}")
