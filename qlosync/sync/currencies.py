"""A shop's QloApps currencies (orders carry only the id): one cache and one policy for pulls and pushes.

The codes hardly ever change, so a worker process asks each shop at most once per ``CURRENCY_TTL_S``,
not once per run or push. A currency added in QloApps since must not turn its bookings into the default
currency meanwhile: an id the cache lacks sends one fresh request (at most one per :class:`ShopCurrencies`,
so an id QloApps does not know either costs one request, not one per booking).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from qlosync.db.config_store import ShopConfig
from qlosync.qloapps.client import QloAppsClient

CURRENCY_TTL_S = 600.0
# Keyed by the URL too: a shop moved to another QloApps has other ids.
_CACHE: dict[tuple[int, str], tuple[float, dict[int, str]]] = {}


class ShopCurrencies(Mapping[int, str]):
    """id_currency → ISO code of one shop, as a mapping (what the inbound mapper reads)."""

    def __init__(self, client: QloAppsClient, shop: ShopConfig) -> None:
        self._client, self._key = client, (shop.id, shop.base_url)
        self._refreshed = False

    def _codes(self, *, fresh: bool = False) -> dict[int, str]:
        now = time.monotonic()
        cached = _CACHE.get(self._key)
        if fresh or cached is None or now - cached[0] > CURRENCY_TTL_S:
            cached = _CACHE[self._key] = (now, self._client.get_currency_codes())
        return cached[1]

    def __getitem__(self, currency_id: int) -> str:
        codes = self._codes()
        if currency_id not in codes and not self._refreshed:
            self._refreshed = True
            codes = self._codes(fresh=True)
        return codes[currency_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._codes())

    def __len__(self) -> int:
        return len(self._codes())
