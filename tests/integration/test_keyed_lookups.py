"""A page's look-ups by key read one index entry per key, however many rows the tables hold and whether or not
PostgreSQL has statistics on them (autovacuum off, or a bulk import just made): written as ``config_id = 1 AND
qloapps_order_id IN (...)`` they read every row of the shop, and a full import of 100,000 bookings slowed down
page after page (issue 22 item 2). The plans are checked on tables never ANALYZEd."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.db.config_store import save_config
from qlosync.db.session import transaction
from qlosync.pms.builtin import guests as builtin_guests
from qlosync.pms.builtin import writer
from qlosync.secrets import Secret
from qlosync.sync.inbound import apply, guests

ROWS = 4000
KEYS = list(range(2001, 2101))  # a page of 100, in the middle


def _fill(session: Session) -> int:
    shop = save_config(session, KeyCipher(Secret(generate_secret_key())), base_url="http://qlo.test",
                       api_key=Secret("A" * 32), sync_enabled=True).id
    hotel = session.scalar(text("SELECT min(id) FROM pms_hotels"))
    session.execute(text("INSERT INTO pms_guests (id, hotel_id, first_name, last_name, email, phone)"
                         " SELECT g, :hotel, 'F', 'L', 'guest' || g || '@example.com', '+3361234' || g"
                         " FROM generate_series(1, :rows) g"), {"hotel": hotel, "rows": ROWS})
    session.execute(text("INSERT INTO qloapps_reservation_mappings (config_id, qloapps_order_id, origin)"
                         " SELECT :shop, g, 'qloapps' FROM generate_series(1, :rows) g"), {"shop": shop, "rows": ROWS})
    session.execute(text("INSERT INTO qloapps_customer_mappings (config_id, qloapps_customer_id, pms_guest_id,"
                         " match_method) SELECT :shop, g, g::text, 'created' FROM generate_series(1, :rows) g"),
                    {"shop": shop, "rows": ROWS})
    return shop


def _rows_read(session: Session, sql: str, params: Any) -> tuple[int, int]:
    """(rows the query answers, rows its scans read: actual rows times loops plus those a filter removed).
    *params* a dict: *sql* is a text() query (``:name``); a tuple: the writer's raw psycopg SQL (``%s``)."""
    explain = f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"
    if isinstance(params, dict):
        plan = session.execute(text(explain), params).scalar_one()
    else:
        plan = session.connection().exec_driver_sql(explain, params).scalar_one()
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    read = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal read
        if "Scan" in node["Node Type"] and node["Node Type"] not in ("Function Scan", "Subquery Scan"):
            read += (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                     + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
        for child in node.get("Plans", []):
            walk(child)

    walk(root)
    return root["Actual Rows"], read


def test_page_lookups_read_one_row_per_key_without_statistics(session_factory, builtin_pms):
    with transaction(session_factory) as session:
        shop = _fill(session)
        assert session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'qloapps_reservation_mappings'")) < 1
        hotel = session.scalar(text("SELECT min(id) FROM pms_hotels"))
        emails = [f"guest{k}@example.com" for k in KEYS]
        phones = [f"+3361234{k}" for k in KEYS]
        cases = {
            "reservation mappings (locked)": (apply._MAPPINGS_OF_ORDERS.text, {"config": shop, "ids": KEYS}),
            "line mappings": (apply._LINE_MAPPINGS_OF_ORDERS.text, {"config": shop, "ids": KEYS}),
            "customer mappings": (guests._CUSTOMER_MAPPINGS.text, {"config": shop, "ids": KEYS}),
            "candidate guests": (builtin_guests._MATCHING.text,
                                 {"hotel": hotel, "ids": KEYS, "emails": emails, "phones": phones}),
            "the writer's guests": (writer._GUESTS, (KEYS, hotel)),
        }
        answered = {}
        for name, (sql, params) in cases.items():
            answered[name], read = _rows_read(session, sql, params)
            assert read <= 3 * len(KEYS) + 10, f"{name}: {read} rows read for {len(KEYS)} keys"
        # Each case found what it should (the candidate guests: each by id, e-mail and phone, once).
        assert answered == {"reservation mappings (locked)": 100, "line mappings": 0, "customer mappings": 100,
                            "candidate guests": 100, "the writer's guests": 100}


def test_an_incremental_pulls_first_read_finds_the_overlaps_orders_through_the_index(session_factory, builtin_pms):
    from datetime import datetime, timedelta

    from sqlalchemy.dialects import postgresql

    from qlosync.db.models import QloAppsReservationMapping
    from qlosync.sync.inbound import pull

    with transaction(session_factory) as session:
        shop = _fill(session)
        # One order a minute; the pull's overlap starts ten minutes before the newest
        session.execute(text("UPDATE qloapps_reservation_mappings SET pms_reservation_id = qloapps_order_id::text,"
                             " qloapps_date_upd = timestamp '2026-01-01' + qloapps_order_id * interval '1 minute'"))
        since = datetime(2026, 1, 1) + timedelta(minutes=ROWS - 9)
        known = pull._applied_versions(session, shop, QloAppsReservationMapping.qloapps_date_upd >= since)
        assert sorted(known) == list(range(ROWS - 9, ROWS + 1))
        query = str(pull._versions_query(shop, QloAppsReservationMapping.qloapps_date_upd >= since).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        answered, read = _rows_read(session, query, {})
        assert (answered, read <= 3 * 10 + 10) == (10, True), read
