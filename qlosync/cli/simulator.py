"""``qlosync simulator``: run the QloApps simulator in the foreground, for demos and manual testing."""

from __future__ import annotations

import os

import click


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8088, show_default=True, type=int)
@click.option(
    "--api-key-env",
    default="QLOAPPS_API_KEY",
    show_default=True,
    metavar="VAR",
    help="Environment variable holding the 32-character key the simulator accepts.",
)
@click.option("--bookings", default=0, show_default=True, type=int,
              help="Generate this many bookings at start (in each named shop when --shops is given).")
@click.option("--shops", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also serve this many named shops at /shops/<prefix><0001..>/api/, each with its own data.")
@click.option("--shop-prefix", default="hotel-", show_default=True, help="Name prefix of the --shops shops.")
@click.option("--request-cost-ms", default="", metavar="SPEC",
              help="Minimum time of each /api/ request, like a real server: '12', or by resource, e.g. "
                   "'default=12,bookings/id=15,orders=11' ('<resource>/id' = one record). Off by default.")
def simulator_command(host: str, port: int, api_key_env: str, bookings: int, shops: int, shop_prefix: str,
                      request_cost_ms: str) -> None:
    """Serve a QloApps look-alike (demo hotel, quirks included) until interrupted."""
    from qlosync.qloapps.simulator import serve

    api_key = os.environ.get(api_key_env, "")
    if len(api_key) != 32:
        raise click.ClickException(f"{api_key_env} must hold a 32-character API key for the simulator")
    if shops:
        from qlosync.qloapps.simulator.server import check_shop_name, numbered_names

        try:
            check_shop_name(numbered_names(shops, shop_prefix)[-1])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--shop-prefix") from exc
    # With --shops the bookings go to the named shops; the default shop stays the empty demo install.
    serve(port=port, api_key=api_key, bookings=0 if shops else bookings, host=host,
          request_cost_ms=request_cost_ms or None, shops=shops, shop_bookings=bookings, shop_prefix=shop_prefix)
