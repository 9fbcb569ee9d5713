"""``qlosync dlq``: look at, requeue and purge the messages in ``qloapps.dlq``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from qlosync.cli.context import CliContext, command_errors, pass_cli
from qlosync.db.session import make_sessionmaker
from qlosync.ops import dlq
from qlosync.runtime.topology import redact_url
from qlosync.states import DeadLetterStatus, values


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: messages qlosync gave up on, kept in qloapps.dlq."""


@dlq_group.command("list")
@click.option("--status", "statuses", type=click.Choice(values(DeadLetterStatus)), multiple=True, default=(DeadLetterStatus.DEAD.value,),
              show_default=True, help="Which records to show (repeat for several).")
@pass_cli
@command_errors
def dlq_list(cli: CliContext, statuses: tuple[str, ...]) -> None:
    """List dead letters: id, actor, queue of origin, reason, age."""
    letters = dlq.list_dead_letters(cli.settings, make_sessionmaker(cli.engine), statuses)
    if not letters:
        click.echo(f"no dead letters ({', '.join(statuses)})")
        return
    rows = [("ID", "ACTOR", "ORIGIN QUEUE", "REASON", "AGE")]
    now = datetime.now(UTC)
    for letter in letters:
        reason = letter.reason or "?"
        if letter.error_class:
            reason += f": {letter.error_class.rsplit('.', 1)[-1]}"
        if letter.status != DeadLetterStatus.DEAD:
            reason += f" [{letter.status}]"
        elif not letter.in_queue:
            reason += " [not in queue]"
        rows.append((letter.message_id, letter.actor, letter.origin_queue, reason, _age(now, letter.dead_at)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@dlq_group.command("show")
@click.argument("message_id")
@pass_cli
@command_errors
def dlq_show(cli: CliContext, message_id: str) -> None:
    """Show everything recorded about one dead letter."""
    letter = dlq.show_dead_letter(cli.settings, make_sessionmaker(cli.engine), message_id)
    fields = [
        ("message id", letter.message_id),
        ("status", letter.status + ("" if letter.in_queue or letter.status != DeadLetterStatus.DEAD else " (not in qloapps.dlq)")),
        ("actor", letter.actor),
        ("origin queue", letter.origin_queue),
        ("reason", letter.reason or "?"),
        ("error", f"{letter.error_class or '-'}: {letter.error_message or ''}".rstrip(": ")),
        ("retries", str(letter.retries)),
        ("args", json.dumps(letter.args)),
        ("kwargs", json.dumps(letter.kwargs, sort_keys=True)),
        ("dead at", _when(letter.dead_at)),
        ("requeued", f"{letter.requeue_count} time(s), last {_when(letter.requeued_at)}"),
        ("resolved at", _when(letter.resolved_at)),
    ]
    for death in letter.x_death:
        fields.append(("x-death", f"{death.get('reason')} from {death.get('queue')} x{death.get('count')} "
                                  f"at {_when(death.get('time'))}"))
    for name, value in fields:
        click.echo(f"{name + ':':14} {value}")


@dlq_group.command("requeue")
@click.argument("message_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Requeue every message in the DLQ.")
@pass_cli
@command_errors
def dlq_requeue(cli: CliContext, message_id: str | None, all_: bool) -> None:
    """Send MESSAGE_ID (or --all) back to its queue of origin, with retries reset."""
    if bool(message_id) == all_:
        raise click.UsageError("give one MESSAGE_ID or --all")
    result = dlq.requeue(cli.settings, make_sessionmaker(cli.engine), message_id)
    for requeued in result.requeued:
        click.echo(f"requeued {requeued}")
    for skipped, why in result.skipped:
        click.echo(f"skipped {skipped}: {why}", err=True)
    click.echo(f"{len(result.requeued)} message(s) requeued")


@dlq_group.command("purge")
@click.argument("message_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Purge every message in the DLQ.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
@command_errors
def dlq_purge(cli: CliContext, message_id: str | None, all_: bool, yes: bool) -> None:
    """Delete MESSAGE_ID (or --all) from the DLQ for good; the record stays, marked purged."""
    if bool(message_id) == all_:
        raise click.UsageError("give one MESSAGE_ID or --all")
    if not yes:
        what = "EVERY message" if all_ else f"message {message_id}"
        click.confirm(f"Delete {what} from qloapps.dlq at {redact_url(cli.settings.rabbitmq_url)}?", abort=True)
    purged = dlq.purge(cli.settings, make_sessionmaker(cli.engine), message_id)
    click.echo(f"{len(purged)} message(s) purged")


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "?"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if isinstance(value, datetime) else "-"
