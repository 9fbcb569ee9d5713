"""Which QloApps customer a pushed booking belongs to, and that qlosync never renames a customer it did
not create (QloApps would: a posted booking overwrites the name of the customer with its e-mail, B17,
and every older booking of that customer shows the new name, B9)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from qlosync.db.session import transaction
from qlosync.sync.outbound.customers import placeholder_email
from qlosync.sync.outbound.mapper import PushRejected
from qlosync.sync.outbound.push import push_reservation
from tests.outbound_fixtures import front_desk_reservation, pms_room_type, pms_state, stay
from tests.pms_desk import desk_for


def _general(engine: Engine, shop) -> str:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return pms_room_type(session, shop.id, 1)


def _customer_of(simulator, order_id: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return simulator.store.table("customers")[simulator.store.table("orders")[order_id]["id_customer"]]


def _guest_of(engine: Engine, shop, reservation_id: str) -> str:  # type: ignore[no-untyped-def]
    state = pms_state(engine, shop, reservation_id)
    assert state is not None
    return state.guest.id


def _customer_mappings(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as c:
        return [tuple(row) for row in c.execute(text(  # type: ignore[misc]
            "SELECT qloapps_customer_id, pms_guest_id, match_method FROM qloapps_customer_mappings ORDER BY id"))]


def _logs(engine: Engine, action: str) -> list[tuple[str, str, str]]:
    with engine.connect() as c:
        return [tuple(row) for row in c.execute(text(  # type: ignore[misc]
            "SELECT level, entity_id, reason FROM qloapps_sync_logs WHERE action = :a ORDER BY id"), {"a": action})]


def _another_reservation(engine: Engine, guest_id: str, room_type: str, days_ahead: int) -> str:
    checkin, checkout = stay(days_ahead)
    return desk_for(engine).guest_reservation(guest_id, room_type_id=room_type, checkin=checkin, checkout=checkout)


def test_a_guest_with_the_email_of_an_existing_customer_books_for_it_without_renaming_it(
    simulator, push_deps, client, engine, shop
):
    # Given a website account, and a PMS guest with its e-mail under another name
    account = client.create_customer(firstname="Maria", lastname="Garcia", email="maria.garcia@example.com",
                                     phone="+1 555 0142", passwd="website-password-1")
    customers = len(simulator.store.table("customers"))
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=stay(30)[0],
                                  checkout=stay(30)[1], first="Mary", last="Smith", email="Maria.Garcia@example.com")

    # When the reservation is pushed
    result = push_reservation(push_deps, reservation)

    # Then the booking belongs to the account, which keeps its name; no customer was added
    assert result.action == "created"
    customer = _customer_of(simulator, result.qloapps_order_id)
    assert customer["id"] == account.id
    assert (customer["firstname"], customer["lastname"], customer["email"]) == (
        "Maria", "Garcia", "maria.garcia@example.com")
    assert len(simulator.store.table("customers")) == customers
    # And the difference is logged, not dropped
    kept = _logs(engine, "customer_name_kept")
    assert len(kept) == 1 and kept[0][0] == "warning" and kept[0][1] == str(result.qloapps_order_id)
    assert "Maria Garcia" in kept[0][2] and "Mary Smith" in kept[0][2]
    assert _customer_mappings(engine) == [(account.id, _guest_of(engine, shop, reservation), "email")]

    # When the PMS guest is renamed later and the change is pushed
    desk_for(engine).update_guest(reservation, first_name="Marie")
    assert push_reservation(push_deps, reservation).action == "updated"

    # Then the account is still not renamed, and that is logged again
    customer = _customer_of(simulator, result.qloapps_order_id)
    assert (customer["id"], customer["firstname"], customer["lastname"]) == (account.id, "Maria", "Garcia")
    assert len(_logs(engine, "customer_name_kept")) == 2


def test_a_guest_without_email_gets_a_placeholder_address_and_keeps_its_customer(
    simulator, push_deps, engine, shop
):
    # Given a walk-in guest without an e-mail
    general = _general(engine, shop)
    reservation = front_desk_reservation(engine, room_type_id=general, checkin=stay(30)[0], checkout=stay(30)[1],
                                  first="Noah", last="Mailless", email=None, phone="+1 555 0177")
    guest = _guest_of(engine, shop, reservation)

    # When the reservation is pushed
    result = push_reservation(push_deps, reservation)

    # Then QloApps' customer carries the guest's name and the placeholder address of that guest
    assert result.action == "created"
    customer = _customer_of(simulator, result.qloapps_order_id)
    assert customer["email"] == placeholder_email(guest) == f"pms-guest-{guest}@guests.qlosync.invalid"
    assert (customer["firstname"], customer["lastname"]) == ("Noah", "Mailless")
    assert _customer_mappings(engine) == [(customer["id"], guest, "pushed")]

    # When the same guest books again
    customers = len(simulator.store.table("customers"))
    second = push_reservation(push_deps, _another_reservation(engine, guest, general, 45))

    # Then the second booking belongs to the same customer
    assert second.action == "created"
    assert _customer_of(simulator, second.qloapps_order_id)["id"] == customer["id"]
    assert len(simulator.store.table("customers")) == customers


def test_a_guest_without_email_whose_name_and_phone_match_one_customer_books_for_it(
    simulator, push_deps, client, engine, shop
):
    # Given a website account, and a PMS guest without e-mail with its name and phone (written differently)
    account = client.create_customer(firstname="Lena", lastname="Park", email="lena.park@example.org",
                                     phone="+1 555 0199", passwd="website-password-2")
    client.create_customer(firstname="Lena", lastname="Park", email="another.lena@example.org",
                           phone="+1 555 0300", passwd="website-password-3")  # same name, other phone
    customers = len(simulator.store.table("customers"))
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=stay(30)[0],
                                  checkout=stay(30)[1], first="Lena", last="Park", email=None, phone="+1 (555) 0199")

    # When the reservation is pushed
    result = push_reservation(push_deps, reservation)

    # Then the booking belongs to that account, whose e-mail stays; no placeholder customer appears
    assert result.action == "created"
    customer = _customer_of(simulator, result.qloapps_order_id)
    assert customer["id"] == account.id and customer["email"] == "lena.park@example.org"
    assert len(simulator.store.table("customers")) == customers
    assert _customer_mappings(engine) == [(account.id, _guest_of(engine, shop, reservation), "phone_name")]


def test_a_guest_without_email_whose_name_and_phone_match_several_customers_gets_its_own(
    simulator, push_deps, client, engine, shop
):
    # Given two website accounts with the same name and phone
    twins = [client.create_customer(firstname="Sam", lastname="Twin", email=f"sam{n}@example.org",
                                    phone="+1 555 0222", passwd="website-password-4").id for n in (1, 2)]
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=stay(30)[0],
                                  checkout=stay(30)[1], first="Sam", last="Twin", email=None, phone="+1 555 0222")

    # When a guest without e-mail with that name and phone is pushed
    result = push_reservation(push_deps, reservation)

    # Then the booking does not guess between them: it gets a placeholder customer of its own
    customer = _customer_of(simulator, result.qloapps_order_id)
    assert customer["id"] not in twins
    assert customer["email"] == placeholder_email(_guest_of(engine, shop, reservation))


def test_a_guest_without_phone_borrows_the_customers_or_is_refused_clearly(
        push_deps, engine, session_factory, simulator, shop):
    with transaction(session_factory) as session:
        room_type = pms_room_type(session, shop.id, 1)
    # Given a known QloApps customer, and two PMS guests without a phone: one with that customer's e-mail
    first = front_desk_reservation(engine, room_type_id=room_type, checkin=stay(30)[0], checkout=stay(30)[1],
                            email="known@example.com", phone="+1 555 0199")
    push_reservation(push_deps, first)
    known = front_desk_reservation(engine, room_type_id=room_type, checkin=stay(40)[0], checkout=stay(40)[1],
                            email="known@example.com", phone=None, first="Kay", last="Known")
    unknown = front_desk_reservation(engine, room_type_id=room_type, checkin=stay(50)[0], checkout=stay(50)[1],
                              email="nobody@example.com", phone=None, first="Noah", last="Body")
    # When both are pushed
    result = push_reservation(push_deps, known)
    # Then the one attached to the existing customer uses its phone
    order = simulator.store.table("orders")[result.qloapps_order_id]
    assert simulator.store.table("customers")[order["id_customer"]]["phone"] == "+1 555 0199"
    # And the one that would create a customer without a phone is refused with the reason
    with pytest.raises(PushRejected, match="no phone number"):
        push_reservation(push_deps, unknown)


def _pushed_once(simulator, push_deps, engine: Engine, shop, days_ahead: int, first: str, last: str,  # type: ignore[no-untyped-def]
                 email: str) -> tuple[str, int, int, date, date]:
    """A front-desk reservation pushed once (qlosync creates its customer): (reservation, order, customer, stay)."""
    checkin, checkout = stay(days_ahead)
    reservation = front_desk_reservation(engine, room_type_id=_general(engine, shop), checkin=checkin,
                                         checkout=checkout, first=first, last=last, email=email)
    order_id = push_reservation(push_deps, reservation).qloapps_order_id
    assert order_id is not None
    return reservation, order_id, int(_customer_of(simulator, order_id)["id"]), checkin, checkout


def _email_remembered(engine: Engine, customer_id: int) -> str | None:
    with engine.connect() as c:
        return c.scalar(text("SELECT qloapps_email FROM qloapps_customer_mappings WHERE qloapps_customer_id = :c"),
                        {"c": customer_id})


def _change_email_in_qloapps(simulator, customer_id: int, email: str) -> None:  # type: ignore[no-untyped-def]
    """What an edit in QloApps' back office (or PUT /api/customers) does to a customer's e-mail."""
    customers = simulator.store.table("customers")
    customers[customer_id]["email"] = email
    customers.touch()


def test_an_update_for_a_customer_qlosync_created_sends_the_email_it_saw_and_reads_the_customer_only_when_refused(
    simulator, push_deps, engine, shop
):
    # Given a reservation pushed once: qlosync created its customer, and remembers the e-mail QloApps showed
    reservation, order_id, customer_id, checkin, checkout = _pushed_once(
        simulator, push_deps, engine, shop, 40, "Remy", "Member", "remy@example.com")
    assert _email_remembered(engine, customer_id) == "remy@example.com"
    desk = desk_for(engine)

    # When its dates change: the PUT goes out without a GET of the customer
    desk.move(reservation, checkin + timedelta(days=1), checkout + timedelta(days=1))
    before = simulator.request_counts.copy()
    assert push_reservation(push_deps, reservation).action == "updated"
    assert simulator.request_counts["GET /api/customers"] == before["GET /api/customers"]

    # When the customer's e-mail is changed in QloApps, and the dates change again
    _change_email_in_qloapps(simulator, customer_id, "remy.new@example.com")
    desk.move(reservation, checkin + timedelta(days=2), checkout + timedelta(days=2))
    before = simulator.request_counts.copy()
    assert push_reservation(push_deps, reservation).action == "updated"

    # Then QloApps refused the e-mail remembered (B23), the push read the customer and sent the PUT again,
    # and the booking has the new dates under the same customer, whose new e-mail is what is remembered now
    sent = simulator.request_counts - before
    assert (sent["PUT /api/bookings"], sent["GET /api/customers"]) == (2, 1)
    order = simulator.store.table("orders")[order_id]
    assert order["id_customer"] == customer_id
    lines = [rb for rb in simulator.store.table("room_bookings").values() if rb["id_order"] == order_id]
    assert [str(rb["date_from"])[:10] for rb in lines] == [(checkin + timedelta(days=2)).isoformat()]
    assert simulator.store.table("customers")[customer_id]["email"] == "remy.new@example.com"
    assert _email_remembered(engine, customer_id) == "remy.new@example.com"

    # And the next change is sent with the new e-mail, again without reading the customer
    desk.move(reservation, checkin, checkout)
    before = simulator.request_counts.copy()
    assert push_reservation(push_deps, reservation).action == "updated"
    sent = simulator.request_counts - before
    assert (sent["PUT /api/bookings"], sent["GET /api/customers"]) == (1, 0)


def test_a_customer_gone_from_qloapps_still_refuses_the_update_clearly(simulator, push_deps, engine, shop):
    reservation, _, customer_id, checkin, checkout = _pushed_once(
        simulator, push_deps, engine, shop, 41, "Gone", "Soon", "gone.soon@example.com")
    simulator.store.table("customers").pop(customer_id)

    desk_for(engine).move(reservation, checkin + timedelta(days=1), checkout + timedelta(days=1))
    with pytest.raises(PushRejected, match="no longer exists"):
        push_reservation(push_deps, reservation)


def test_an_email_remembered_that_another_customer_took_in_qloapps_is_logged(
    simulator, push_deps, client, engine, shop
):
    # Given a pushed reservation whose customer's e-mail was then changed in QloApps, and another customer
    # made with the old one (QloApps allows duplicates through /api/customers, B21)
    reservation, _, customer_id, checkin, checkout = _pushed_once(
        simulator, push_deps, engine, shop, 42, "Ann", "Owner", "ann@example.com")
    _change_email_in_qloapps(simulator, customer_id, "ann.moved@example.com")
    client.create_customer(firstname="Other", lastname="Person", email="ann@example.com", phone="+1 555 0199",
                           passwd="website-password-2")

    # When the reservation changes and is pushed
    desk_for(engine).move(reservation, checkin + timedelta(days=1), checkout + timedelta(days=1))
    assert push_reservation(push_deps, reservation).action == "updated"

    # Then the push says so (the other customer may carry the guest's name now, B17), and remembers the new e-mail
    logged = _logs(engine, "customer_email_changed")
    assert len(logged) == 1 and logged[0][0] == "warning" and "ann.moved@example.com" not in logged[0][2]
    assert "ann@example.com" in logged[0][2]
    assert _email_remembered(engine, customer_id) == "ann.moved@example.com"
