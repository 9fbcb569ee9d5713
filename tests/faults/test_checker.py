"""The agreement checker itself: it must see a lost booking, a duplicated order and a changed booking."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qlosync.db.session import transaction
from qlosync.sync.inbound.pull import run_pull
from tests.faults.support import disagreements
from tests.integration.sync_helpers import reservation_of_order, reservation_state
from tests.pms_desk import desk_for

pytestmark = [pytest.mark.faults]


def test_the_checker_sees_lost_duplicated_and_changed_bookings(simulator, shop, mapped_catalog, deps, engine,
                                                               session_factory):
    order_ids = simulator.store.generate_bookings(20, seed=4)
    assert run_pull(deps, kind="full").status == "succeeded"
    assert disagreements(engine, session_factory, simulator, shop.id) == []

    # A booking lost on the PMS side
    with engine.begin() as c:
        c.execute(text("DELETE FROM qloapps_reservation_mappings WHERE qloapps_order_id = :o"), {"o": order_ids[0]})
    # A booking whose PMS copy differs
    with transaction(session_factory) as session:
        changed = reservation_of_order(session, order_ids[1], shop.id)
        adults = reservation_state(session, changed).lines[0].adults
    desk_for(engine).update_lines(changed, adults=adults + 1)
    # An order created twice in QloApps (same push token)
    with simulator.store.lock:
        orders = simulator.store.table("orders")
        orders[order_ids[2]]["source"] = "Front desk [qlosync:abc123]"
        orders[order_ids[3]]["source"] = "Front desk [qlosync:abc123]"

    found = "\n".join(disagreements(engine, session_factory, simulator, shop.id))
    assert f"order {order_ids[0]} has no PMS reservation" in found
    assert "has no QloApps order" in found  # (its reservation, now unmapped)
    assert f"order {order_ids[1]} differs" in found
    assert "is on 2 orders" in found, found
