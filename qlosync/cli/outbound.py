"""``qlosync relay``, ``qlosync push`` and ``qlosync conflicts``: the outbound side from the command line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli
from qlosync.cli.params import FieldType, positive_id
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.fields import InvalidValueError
from qlosync.pms.checks import require_pms
from qlosync.pms.port import CapturedChange, PmsId, RoomTypeChange
from qlosync.sync.conflicts import list_conflicts
from qlosync.sync.outbound.jobs import flagged_reservations, missing_reservations, push, resolve_conflict
from qlosync.sync.outbound.relay import RelayCounters, relay_once, run_relay
from qlosync.runtime.context import Runtime
from qlosync.runtime.heartbeat import Heartbeat
from qlosync.runtime.metrics import serve_process_metrics
from qlosync.runtime.queues import OUTBOUND
from qlosync.states import OutboxOperation, Side, values


#: The longest PMS id qlosync's mapping tables hold.
PMS_ID_MAX = 64


def _pms_reservation_id(value: str) -> PmsId:
    """A PMS reservation id as the PMS writes it: opaque text (the built-in PMS's are digits)."""
    if not value or len(value) > PMS_ID_MAX or not value.isprintable():
        raise InvalidValueError(f"a PMS reservation id is 1 to {PMS_ID_MAX} printable characters")
    return value


PMS_RESERVATION = FieldType("reservation", _pms_reservation_id)


def _publisher() -> Callable[[CapturedChange], None]:
    from qlosync.actors import push_availability, push_rates, push_reservation  # sets up the broker

    def publish(message: CapturedChange) -> None:
        if isinstance(message, RoomTypeChange):
            actor = push_rates if message.operation == OutboxOperation.RATES else push_availability
            actor.send(message.room_type_id, message.date_from.isoformat(), message.date_to.isoformat())
            return
        kwargs: dict[str, Any] = {"mapping_ids": message.mapping_ids} if message.mapping_ids else {}
        push_reservation.send_with_options(args=(message.reservation_id,), kwargs=kwargs)

    return publish


@click.command("relay")
@click.option("--once", is_flag=True, help="Publish what is unsent now, then exit (for cron or a check).")
@click.option("--poll-interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds between checks when no notification arrives.")
@pass_cli
@command_errors
def relay_command(cli: CliContext, once: bool, poll_interval: float) -> None:
    """Publish the PMS's captured changes to qloapps.outbound until stopped (SIGTERM/SIGINT)."""
    require_pms(cli.engine, cli.settings.pms)  # once: a relay on another database would relay nothing, or fail
    sessions = make_sessionmaker(cli.engine)
    publish = _publisher()
    if once:
        click.echo(f"published {relay_once(sessions, publish)} messages")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"outbox relay running (poll every {poll_interval:g} s)", err=True)
    serve_process_metrics(cli.settings)
    counters = run_relay(cli.engine, sessions, publish, stop, poll_interval_s=poll_interval, counters=RelayCounters(),
                         heartbeat=Heartbeat(cli.settings, role="relay", queues=(OUTBOUND,)))
    click.echo(f"outbox relay stopped: {counters.messages} messages for {counters.rows} rows, {counters.errors} errors",
               err=True)


@click.command("push")
@click.argument("reservation_ids", nargs=-1, type=PMS_RESERVATION)
@click.option("--failed", is_flag=True, help="Every reservation whose last push was refused.")
@pass_cli
@command_errors
def push_command(cli: CliContext, reservation_ids: tuple[PmsId, ...], failed: bool) -> None:
    """Push PMS reservations to QloApps now, here (e.g. after fixing what a refused push complained of)."""
    sessions = make_sessionmaker(cli.engine)
    runtime = Runtime(settings=cli.settings, engine=cli.engine, session_factory=sessions)
    ids = list(reservation_ids)
    if failed:
        with transaction(sessions) as session:
            ids += [i for i in flagged_reservations(session) if i not in ids]
    if not ids:
        raise CliError("nothing to push: name reservation ids or use --failed", 2)
    with transaction(sessions) as session:
        missing = missing_reservations(session, ids)
    problems = 0
    for reservation_id in ids:
        if reservation_id in missing:
            problems += 1
            click.echo(f"reservation {reservation_id}: does not exist in the PMS", err=True)
            continue
        try:
            for result in push(runtime, reservation_id):
                click.echo(f"reservation {reservation_id}: {result.action}"
                           f"{f' (QloApps order {result.qloapps_order_id})' if result.qloapps_order_id else ''}"
                           f"{f': {result.note}' if result.note else ''}; {result.requests} requests")
        except Exception as exc:  # noqa: BLE001  (report each reservation, go on with the others)
            problems += 1
            click.echo(f"reservation {reservation_id}: failed: {type(exc).__name__}: {exc}", err=True)
    if problems:
        raise CliError(f"{problems} of {len(ids)} pushes failed")


@click.group("conflicts")
def conflicts_group() -> None:
    """Reservations changed on both sides (conflict strategy `manual`)."""


@conflicts_group.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved conflicts.")
@pass_cli
@command_errors
def conflicts_list(cli: CliContext, include_resolved: bool) -> None:
    """Show open conflicts (and resolved ones with --all)."""
    with cli.session() as session:
        rows = list_conflicts(session, include_resolved=include_resolved)
    if not rows:
        click.echo("no open conflicts" if not include_resolved else "no conflicts")
    for c in rows:
        click.echo(f"#{c.id:<5} {c.status:<9} PMS reservation {c.pms_reservation_id}  QloApps order "
                   f"{c.qloapps_order_id}  PMS changed {c.pms_changed_at:%Y-%m-%d %H:%M:%S}  QloApps changed "
                   f"{c.qloapps_changed_at:%Y-%m-%d %H:%M:%S}  found by {c.detected_by}"
                   f"{f'  kept {c.resolution}' if c.resolution else ''}")


@conflicts_group.command("resolve")
@click.argument("conflict_id", type=positive_id("conflict"))
@click.option("--keep", type=click.Choice(values(Side)), required=True, help="Whose version both sides keep.")
@pass_cli
@command_errors
def conflicts_resolve(cli: CliContext, conflict_id: int, keep: str) -> None:
    """End a conflict: write the kept side's version to the other side now."""
    runtime = Runtime(settings=cli.settings, engine=cli.engine, session_factory=make_sessionmaker(cli.engine))
    result = resolve_conflict(runtime, conflict_id, Side(keep))
    outcome = f"{result.action} (QloApps order {result.qloapps_order_id})" if result else "nothing left to sync"
    click.echo(f"conflict {conflict_id} resolved, {keep} kept: {outcome}")
