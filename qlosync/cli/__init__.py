"""The ``qlosync`` command line: a click group whose commands stay thin over package functions."""

from __future__ import annotations

import logging

import click

from qlosync.cli.adopt import adopt_command
from qlosync.cli.api import api_command
from qlosync.cli.ari import ari_group
from qlosync.cli.broker import broker_group
from qlosync.cli.config import config_group
from qlosync.cli.context import CliContext, CliError
from qlosync.cli.db import db_group
from qlosync.cli.dlq import dlq_group
from qlosync.cli.outbound import conflicts_group, push_command, relay_command
from qlosync.cli.pms import pms_group
from qlosync.cli.shops import shops_group
from qlosync.cli.simulator import simulator_command
from qlosync.cli.status import health_command, status_command
from qlosync.cli.sync import mappings_group, sync_command
from qlosync.errors import ConfigurationError
from qlosync.logs import configure_logging
from qlosync.settings import Settings


@click.group()
@click.version_option(package_name="qlosync")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Keep a hotel PMS and its QloApps booking website in sync."""
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format)
    # pika logs a traceback for every failed connect; a command reports RabbitMQ trouble in one line.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    ctx.obj = CliContext(settings)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(config_group)
cli.add_command(db_group)
cli.add_command(status_command)
cli.add_command(health_command)
cli.add_command(simulator_command)
cli.add_command(dlq_group)
cli.add_command(broker_group)
cli.add_command(sync_command)
cli.add_command(mappings_group)
cli.add_command(relay_command)
cli.add_command(push_command)
cli.add_command(conflicts_group)
cli.add_command(ari_group)
cli.add_command(api_command)
cli.add_command(shops_group)
cli.add_command(pms_group)
cli.add_command(adopt_command)


def main() -> None:
    cli(prog_name="qlosync")
