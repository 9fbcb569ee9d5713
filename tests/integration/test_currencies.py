"""One currency cache for pulls and pushes (qlosync.sync.currencies), against the simulator over HTTP."""

from __future__ import annotations

from qlosync.sync.currencies import ShopCurrencies


def test_runs_and_pushes_share_the_cache_and_a_new_currency_is_asked_for_at_once(client, shop, simulator):
    # Given one run (or push) that learned the shop's currencies
    before = client.request_count
    assert ShopCurrencies(client, shop).get(1) == "USD"
    assert client.request_count == before + 1
    # Then the next run or push of this process asks QloApps nothing
    assert ShopCurrencies(client, shop).get(1) == "USD" and client.request_count == before + 1
    # When QloApps gets a currency after that, a booking in it is not stored in the default one
    simulator.store.table("currencies")[2] = {**simulator.store.table("currencies")[1], "id": 2, "iso_code": "EUR"}
    later = ShopCurrencies(client, shop)
    assert later.get(2) == "EUR" and client.request_count == before + 2
    # And, in the next run, an id QloApps does not know either costs one request in all, not one per booking
    unknown = ShopCurrencies(client, shop)
    assert [unknown.get(99), unknown.get(99), unknown.get(99)] == [None, None, None]
    assert client.request_count == before + 3
