"""``qlosync config``: the QloApps shop settings and the encrypted API key."""

from __future__ import annotations

import json
import os
import sys

import click

from qlosync.cli.context import CliContext, CliError, command_errors, pass_cli, shop_option
from qlosync.cli.params import hotel_id_option
from qlosync.cli.shops import pms_hotel_option
from qlosync.crypto import generate_secret_key
from qlosync.db.config_store import rotate_keys
from qlosync.states import ConflictStrategy, values
from qlosync.db.session import make_sessionmaker
from qlosync.ops import config as config_ops
from qlosync.secrets import Secret


@click.group("config")
def config_group() -> None:
    """Show or change the QloApps connection settings."""


def _read_api_key(from_stdin: bool, env_name: str | None) -> Secret | None:
    if from_stdin and env_name:
        raise CliError("give the API key either on stdin or through --api-key-env, not both", 2)
    if from_stdin:
        if sys.stdin.isatty():
            value = click.prompt("QloApps API key", hide_input=True, err=True)
        else:
            value = sys.stdin.readline()
        return Secret(value.strip())
    if env_name:
        from_env = os.environ.get(env_name)
        if not from_env:
            raise CliError(f"environment variable {env_name} is not set or empty", 2)
        return Secret(from_env.strip())
    return None


@config_group.command("set")
@shop_option
@click.option("--base-url", help="The shop's URL, e.g. https://booking.example.com (the API is under /api/).")
@click.option("--api-key-stdin", is_flag=True, help="Read the API key from standard input (or a hidden prompt).")
@click.option("--api-key-env", metavar="VAR", help="Read the API key from this environment variable.")
@click.option("--enable/--disable", "sync_enabled", default=None, help="Switch sync on or off.")
@hotel_id_option
@pms_hotel_option
@click.option("--conflict-strategy", type=click.Choice(values(ConflictStrategy)))
@pass_cli
@command_errors
def config_set(
    cli: CliContext,
    shop: str,
    base_url: str | None,
    api_key_stdin: bool,
    api_key_env: str | None,
    sync_enabled: bool | None,
    id_hotel: int | None,
    pms_hotel_id: str | None,
    conflict_strategy: str | None,
) -> None:
    """Create or update the QloApps configuration. The key is never accepted as a plain argument."""
    api_key = _read_api_key(api_key_stdin, api_key_env)
    with cli.session() as session:
        saved = config_ops.save_settings(
            cli.settings,
            session,
            name=shop,
            base_url=base_url,
            api_key=api_key,
            sync_enabled=sync_enabled,
            hotel_id=id_hotel,
            conflict_strategy=conflict_strategy,
            pms_hotel_id=pms_hotel_id,
        )
    hotel = f", PMS hotel {saved.pms_hotel_id}" if saved.pms_hotel_id is not None else ""
    click.echo(f"saved QloApps configuration {saved.name!r} ({saved.base_url}, "
               f"sync {'on' if saved.sync_enabled else 'off'}{hotel})")


@config_group.command("show")
@shop_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_cli
@command_errors
def config_show(cli: CliContext, shop: str, as_json: bool) -> None:
    """Print the configuration with the API key masked."""
    with cli.session() as session:
        info = config_ops.describe_masked(cli.settings, session, shop)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    width = max(len(k) for k in info)
    for key, value in info.items():
        click.echo(f"{key:<{width}}  {value}")


@config_group.command("test")
@shop_option
@pass_cli
@command_errors
def config_test(cli: CliContext, shop: str) -> None:
    """Check the stored URL and API key against QloApps and say what is wrong, if anything."""
    check = config_ops.check_connection(cli.settings, make_sessionmaker(cli.engine), shop)
    if not check.ok:
        raise CliError(f"{check.problem}: {check.message}")
    click.echo(check.message)


@config_group.command("rotate-key")
@pass_cli
@command_errors
def config_rotate_key(cli: CliContext) -> None:
    """Re-encrypt stored API keys with the first key in QLOSYNC_SECRET_KEY."""
    cipher = cli.cipher()
    with cli.session() as session:
        count = rotate_keys(session, cipher)
    click.echo(f"re-encrypted {count} API key(s) with the newest secret key")


@config_group.command("generate-secret")
def config_generate_secret() -> None:
    """Print a new random value for QLOSYNC_SECRET_KEY."""
    click.echo(generate_secret_key())
