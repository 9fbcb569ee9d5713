"""Availability, rates and inventory (ARI): PMS rates as QloApps feature prices, closed nights and out-of-order rooms as stop-sell holds."""
