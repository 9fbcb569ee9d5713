"""``qlosync api``: serve the admin HTTP API with uvicorn."""

from __future__ import annotations

import click

from qlosync.cli.context import CliContext, CliError, pass_cli


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs QLOSYNC_API_TOKEN.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@pass_cli
def api_command(cli: CliContext, host: str, port: int) -> None:
    """Serve the admin HTTP API (OpenAPI document at /api/v1/openapi.json)."""
    import uvicorn

    from qlosync.api import create_app
    from qlosync.api.auth import is_loopback

    if cli.settings.api_token is None and not is_loopback(host):
        # Without a token the operations are open: only this machine may reach them.
        raise CliError(f"QLOSYNC_API_TOKEN is not set: refusing to serve the admin API on {host}, where other "
                       "machines could reach it; set QLOSYNC_API_TOKEN or listen on 127.0.0.1")
    # log_config=None: uvicorn logs through the logging qlosync configured (text or JSON, QLOSYNC_LOG_LEVEL).
    uvicorn.run(create_app(cli.settings), host=host, port=port, log_config=None, proxy_headers=False,
                server_header=False)
