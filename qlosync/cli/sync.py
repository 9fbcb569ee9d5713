"""``qlosync sync`` and ``qlosync mappings``: pull bookings now, and map room types and rooms."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session, sessionmaker

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli
from qlosync.db.config_store import DEFAULT_SHOP, ShopConfig
from qlosync.db.session import make_sessionmaker, transaction
from qlosync.sync.inbound.catalog import import_catalog, list_room_type_mappings, set_room_type_mapping
from qlosync.sync.inbound.pull import RunReport, retry_parked, run_pull
from qlosync.sync.service import load_shop_config, open_client, pull_deps

shop_option = click.option("--shop", default=DEFAULT_SHOP, show_default=True, help="Which QloApps shop.")


def _open_shop(cli: CliContext, shop: str, *, require_enabled: bool = False) -> tuple[sessionmaker[Session], ShopConfig]:
    """The session factory and the shop's decrypted configuration every command here starts from."""
    sessions = make_sessionmaker(cli.engine)
    return sessions, load_shop_config(cli.settings, sessions, shop, require_enabled=require_enabled)


def _send_retry(shop: str):  # type: ignore[no-untyped-def]
    def send(order_id: int) -> None:
        from qlosync.actors import import_booking  # sets up the broker from RABBITMQ_URL

        import_booking.send(shop, order_id)

    return send


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
    kind = "full" if full else "incremental"
    sessions, config = _open_shop(cli, shop, require_enabled=True)
    if not wait:
        from qlosync.actors import pull_bookings

        message = pull_bookings.send(shop, kind, "manual")
        click.echo(f"enqueued {kind} pull of {shop} as message {message.message_id}")
        return
    click.echo(f"{kind} pull of {shop} ({config.base_url}) running...", err=True)
    with pull_deps(cli.settings, cli.engine, sessions, config, _send_retry(shop), progress=_progress) as deps:
        report = run_pull(deps, kind=kind, trigger="manual")
    click.echo(
        f"run {report.run_id}: {report.kind} {report.status}; " + ", ".join(
            f"{name} {report.counts[name]}" for name in ("seen", "created", "updated", "unchanged", "parked", "failed")
        ) + f"; {report.requests} QloApps requests"
    )
    if report.status == "failed":
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
    sessions, config = _open_shop(cli, shop)
    with open_client(cli.settings, config) as client, transaction(sessions) as session:
        result = import_catalog(session, client, config)
    click.echo(
        f"room types: {result.room_types_mapped} mapped ({result.room_types_created} created in the PMS), "
        f"{result.already_mapped} already mapped; rooms: {result.rooms_mapped} mapped ({result.rooms_created} created)"
    )
    _apply_parked(cli, sessions, config, shop)


@mappings_group.command("list")
@shop_option
@pass_cli
@command_errors
def mappings_list(cli: CliContext, shop: str) -> None:
    """Show which QloApps room type maps to which PMS room type."""
    sessions, config = _open_shop(cli, shop)
    with transaction(sessions) as session:
        rows = list_room_type_mappings(session, config.id)
    if not rows:
        click.echo("no room-type mappings (run: qlosync mappings import)")
    for mapping, room_type in rows:
        click.echo(f"QloApps room type {mapping.qloapps_room_type_id:>4} {mapping.qloapps_name or '':<24} -> "
                   f"PMS {room_type.id:>4} {room_type.code:<16} {room_type.name}")


@mappings_group.command("set")
@shop_option
@click.argument("qloapps_room_type_id", type=int)
@click.argument("pms_room_type")
@pass_cli
@command_errors
def mappings_set(cli: CliContext, shop: str, qloapps_room_type_id: int, pms_room_type: str) -> None:
    """Map QLOAPPS_ROOM_TYPE_ID to PMS_ROOM_TYPE (an id or a code); parked bookings are applied at once."""
    sessions, config = _open_shop(cli, shop)
    with transaction(sessions) as session:
        set_room_type_mapping(session, config, qloapps_room_type_id, pms_room_type)
    click.echo(f"QloApps room type {qloapps_room_type_id} -> PMS room type {pms_room_type}")
    _apply_parked(cli, sessions, config, shop)


def _apply_parked(cli: CliContext, sessions, config, shop: str) -> None:  # type: ignore[no-untyped-def]
    with pull_deps(cli.settings, cli.engine, sessions, config, _send_retry(shop)) as deps:
        counts = retry_parked(deps)
    if counts:
        click.echo("parked bookings: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
