"""``qlosync sync`` and ``qlosync mappings``: pull bookings now, and map room types and rooms."""

from __future__ import annotations

import click

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli, shop_option
from qlosync.cli.params import PMS_ROOM_TYPE, positive_id
from qlosync.db.session import make_sessionmaker
from qlosync.ops import mappings as mapping_ops
from qlosync.ops import sync as sync_ops
from qlosync.sync.service import load_shop_config
from qlosync.sync.inbound.pull import RunReport
from qlosync.states import RunStatus



def _progress(report: RunReport) -> None:
    counts = report.counts
    click.echo(
        f"  seen {counts['seen']}  created {counts['created']}  updated {counts['updated']}  "
        f"unchanged {counts['unchanged']}  parked {counts['parked']}  failed {counts['failed']}",
        err=True,
    )


@click.command("sync")
@shop_option
@click.option("--full", is_flag=True, help="Page through every QloApps order, not only the changed ones.")
@click.option("--wait", is_flag=True, help="Run the pull here and now, showing progress, instead of enqueueing it.")
@pass_cli
@command_errors
def sync_command(cli: CliContext, shop: str, full: bool, wait: bool) -> None:
    """Pull bookings from QloApps (enqueued for the inbound workers unless --wait)."""
    sessions = make_sessionmaker(cli.engine)
    if not wait:
        requested = sync_ops.request_pull(cli.settings, sessions, shop, full=full)
        click.echo(f"enqueued {requested.kind} pull of {shop} as message {requested.message_id}")
        return
    config = load_shop_config(cli.settings, sessions, shop, require_enabled=True)
    click.echo(f"{'full' if full else 'incremental'} pull of {shop} ({config.base_url}) running...", err=True)
    report = sync_ops.pull_now(cli.settings, cli.engine, sessions, shop, full=full, progress=_progress)
    click.echo(
        f"run {report.run_id}: {report.kind} {report.status}; " + ", ".join(
            f"{name} {report.counts[name]}" for name in ("seen", "created", "updated", "unchanged", "parked", "failed")
        ) + f"; {report.requests} QloApps requests"
    )
    if report.status == RunStatus.FAILED:
        raise CliError(f"pull failed: {report.error}")


@click.group("mappings")
def mappings_group() -> None:
    """Room-type and room mappings between QloApps and the PMS."""


@mappings_group.command("import")
@shop_option
@pass_cli
@command_errors
def mappings_import(cli: CliContext, shop: str) -> None:
    """Map QloApps room types and rooms to PMS ones by name/number, creating missing ones in the PMS."""
    result = mapping_ops.import_mappings(cli.settings, make_sessionmaker(cli.engine), shop)
    click.echo(
        f"room types: {result.room_types_mapped} mapped ({result.room_types_created} created in the PMS), "
        f"{result.already_mapped} already mapped; rooms: {result.rooms_mapped} mapped ({result.rooms_created} created)"
    )
    _apply_parked(cli, shop)


@mappings_group.command("list")
@shop_option
@pass_cli
@command_errors
def mappings_list(cli: CliContext, shop: str) -> None:
    """Show which QloApps room type maps to which PMS room type."""
    rows = mapping_ops.list_mappings(make_sessionmaker(cli.engine), shop)
    if not rows:
        click.echo("no room-type mappings (run: qlosync mappings import)")
    for row in rows:
        click.echo(f"QloApps room type {row.qloapps_room_type_id:>4} {row.qloapps_name or '':<24} -> "
                   f"PMS {row.pms_room_type_id:>4} {row.pms_room_type_code:<16} {row.pms_room_type_name}")


@mappings_group.command("set")
@shop_option
@click.argument("qloapps_room_type_id", type=positive_id("QloApps room type"))
@click.argument("pms_room_type", type=PMS_ROOM_TYPE)
@pass_cli
@command_errors
def mappings_set(cli: CliContext, shop: str, qloapps_room_type_id: int, pms_room_type: str) -> None:
    """Map QLOAPPS_ROOM_TYPE_ID to PMS_ROOM_TYPE (an id or a code); parked bookings are applied at once."""
    mapping_ops.set_mapping(cli.settings, make_sessionmaker(cli.engine), shop, qloapps_room_type_id, pms_room_type)
    click.echo(f"QloApps room type {qloapps_room_type_id} -> PMS room type {pms_room_type}")
    _apply_parked(cli, shop)


def _apply_parked(cli: CliContext, shop: str) -> None:
    counts = mapping_ops.apply_parked(cli.settings, cli.engine, make_sessionmaker(cli.engine), shop)
    if counts:
        click.echo("parked bookings: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
