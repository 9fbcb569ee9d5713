"""QloApps webservice simulator, built from the observed behaviour in ../shared/qloapps-samples.

Use ``Simulator(api_key=..., port=0).start()`` in tests, or ``serve(port, api_key)`` in the foreground
(``qlosync simulator``). State is in memory; ``sim.store`` changes data "behind qlosync's back",
``sim.faults`` injects failures, ``sim.request_counts`` counts requests per resource. HTTP control
endpoints live under ``/_sim/`` (see docs/simulator.md). ``sim.add_shops(names, bookings)`` adds named
shops, each with its own data, faults and counters, at ``/shops/<name>/api/`` and ``/shops/<name>/_sim/``.

Known gaps (captures deliberately not reproduced; mirrored in tests/contract/test_captures.py KNOWN_GAPS):

- 054: unpatched PHP 8 DivisionByZeroError (500 after the order was created) on a lower
  total_price_with_tax; the simulator follows the patched server (056: the lower total is ignored).
  ``faults.add("error_after_commit", path="/api/bookings")`` reproduces that failure mode on demand.
- 271, 280, 284: updRoomRateAvail with two or more rate lists on an unpatched PHP 8 / PDO server
  (500, nothing stored); the simulator follows the patched server (287/288: success, rules stored
  without customer groups, never applied).
"""

from .server import Simulator, numbered_names, serve
from .shop import ShopSim

KNOWN_GAPS = {
    "054": "unpatched PHP 8 DivisionByZeroError after commit; simulator behaves like the patched server (056)",
    "271": "unpatched PHP 8 TypeError in updRoomRateAvail; simulator behaves like the patched server (287)",
    "280": "PHP 8 PDO exception on malformed SQL in updRoomRateAvail; simulator behaves like 287",
    "284": "same PHP 8 PDO failure as 280; simulator behaves like the patched server (288)",
}

__all__ = ["KNOWN_GAPS", "ShopSim", "Simulator", "numbered_names", "serve"]
