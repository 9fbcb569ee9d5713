"""Inbound guest matching and e-mails: two different addresses are two people, even with the same name and phone.

Phone plus name only bridges a missing e-mail (here: a PMS guest without one); a guest's address is never
overwritten by another customer's.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from qlosync.db.models import QloAppsCustomerMapping, QloAppsSyncLog
from qlosync.db.session import transaction
from qlosync.pms.port import Guest
from qlosync.qloapps.models import BookingRequest, CustomerDetail, RoomRequest, RoomTypeRequest
from qlosync.sync.outbound.customers import placeholder_email
from qlosync.sync.inbound.guests import update_guest_details
from qlosync.sync.inbound.mapper import GuestData
from qlosync.sync.inbound.pull import run_pull
from tests.integration.sync_helpers import (
    actual_booking,
    expected_booking,
    guest_ids_keyed_by,
    guest_of_order,
    pms_guest,
)
from tests.pms_desk import desk_for

PHONE = "+1 555 010 2030"


def _book(client, email: str, checkin: date) -> int:  # type: ignore[no-untyped-def]
    """A booking in QloApps for Sam Rivera with this e-mail; QloApps makes one customer per e-mail."""
    request = BookingRequest(
        id_property=1, currency="USD", source="qlosync-test",
        customer=CustomerDetail("Sam", "Rivera", email, PHONE),
        room_types=(RoomTypeRequest(2, checkin, checkin + timedelta(days=2), rooms=(RoomRequest(adults=2),)),),
    )
    return client.create_booking(request).id


def _pms_guest(engine, email: str | None) -> str:  # type: ignore[no-untyped-def]
    """A guest the PMS already has (the front desk typed it in), same name and phone as the bookings."""
    return desk_for(engine).guest("Sam", "Rivera", email, PHONE)


def _customer_of(simulator, order_id: int) -> int:  # type: ignore[no-untyped-def]
    return int(simulator.store.table("orders")[order_id]["id_customer"])


def test_two_customers_with_same_name_and_phone_but_different_emails_are_two_guests(
    simulator, deps, client, engine, session_factory, mapped_catalog, shop
):
    # Given two QloApps customers who agree on name and phone but not on e-mail, each with a booking
    first = _book(client, "sam.rivera@example.com", date(2030, 6, 1))
    second = _book(client, "s.rivera@work.example", date(2030, 6, 10))
    assert _customer_of(simulator, first) != _customer_of(simulator, second)

    # When one pull brings both (same page)
    report = run_pull(deps, kind="full")

    # Then each has its own guest, which keeps its own e-mail
    assert report.counts["created"] == 2 and report.counts["failed"] == 0
    assert desk_for(engine).guest_count() == 2
    with transaction(session_factory) as session:
        guests = {order_id: guest_of_order(session, order_id) for order_id in (first, second)}
        assert guests[first].id != guests[second].id
        assert guests[first].email == "sam.rivera@example.com"
        assert guests[second].email == "s.rivera@work.example"
        for order_id in (first, second):
            assert actual_booking(session, shop.id, order_id) == expected_booking(simulator, order_id, session)
        mappings = {m.qloapps_customer_id: m for m in session.scalars(select(QloAppsCustomerMapping))}
        assert {c: m.pms_guest_id for c, m in mappings.items()} == {
            _customer_of(simulator, first): guests[first].id, _customer_of(simulator, second): guests[second].id}
        assert {m.match_method for m in mappings.values()} == {"created"}
        # The operator is told why the second one was not merged into the first
        reasons = list(session.scalars(select(QloAppsSyncLog.reason).where(QloAppsSyncLog.action == "created")))
        assert sum("different person" in (r or "") for r in reasons) == 1

    # And when both bookings change, a later pull keeps them apart (each customer goes through its mapping)
    for order_id in (first, second):
        simulator.store.cancel_booking(order_id)
    assert run_pull(deps, kind="full").counts["updated"] == 2
    with transaction(session_factory) as session:
        emails = {guest_of_order(session, order_id).email for order_id in (first, second)}
        assert emails == {"sam.rivera@example.com", "s.rivera@work.example"}


def test_a_pms_guest_without_email_is_matched_by_phone_and_name_and_gets_the_email(
    simulator, deps, client, engine, session_factory, mapped_catalog, shop
):
    # Given a PMS guest with the same name and phone and no e-mail
    guest_id = _pms_guest(engine, None)
    order_id = _book(client, "sam.rivera@example.com", date(2030, 7, 1))

    # When the booking is pulled
    assert run_pull(deps, kind="full").counts["created"] == 1

    # Then it goes to that guest, who now has the customer's e-mail (and is found by it)
    assert desk_for(engine).guest_count() == 1
    with transaction(session_factory) as session:
        guest = guest_of_order(session, order_id)
        assert guest.id == guest_id
        assert guest.email == "sam.rivera@example.com"
        assert guest_ids_keyed_by(session, email="sam.rivera@example.com") == [guest_id]
        mapping = session.scalars(select(QloAppsCustomerMapping)).one()
        assert (mapping.qloapps_customer_id, mapping.pms_guest_id, mapping.match_method) == (
            _customer_of(simulator, order_id), guest_id, "phone_name")


def test_a_pms_guest_with_another_email_is_not_merged_and_keeps_its_email(
    simulator, deps, client, engine, session_factory, mapped_catalog, shop
):
    # Given a PMS guest with e-mail A, and a QloApps customer with the same name and phone but e-mail B
    guest_id = _pms_guest(engine, "Sam.Rivera@Example.com")
    order_id = _book(client, "s.rivera@work.example", date(2030, 8, 1))

    # When the booking is pulled
    assert run_pull(deps, kind="full").counts["created"] == 1

    # Then a new guest is created for B, and A is untouched (still found by its own address)
    assert desk_for(engine).guest_count() == 2
    with transaction(session_factory) as session:
        new = guest_of_order(session, order_id)
        assert new.id != guest_id and new.email == "s.rivera@work.example"
        assert pms_guest(session, guest_id).email == "Sam.Rivera@Example.com"
        assert guest_ids_keyed_by(session, email="sam.rivera@example.com") == [guest_id]
        mapping = session.scalars(select(QloAppsCustomerMapping)).one()
        assert (mapping.pms_guest_id, mapping.match_method) == (new.id, "created")


def test_update_guest_details_never_swaps_or_erases_an_email():
    def guest() -> Guest:
        return Guest("1", first_name="Sam", last_name="Rivera", email="sam@example.com", phone=PHONE)

    # A phone-and-name match keeps the guest's own address
    kept = guest()
    update_guest_details(kept, GuestData(1, "Sam", "Rivera", "other@example.com", PHONE), method="phone_name")
    assert kept.email == "sam@example.com"
    # A customer without a usable address (none, or the placeholder a push made up) erases nothing
    for email in (None, placeholder_email("5")):
        untouched = guest()
        assert update_guest_details(untouched, GuestData(1, "Sam", "Rivera", email, PHONE)) is False
        assert untouched.email == "sam@example.com"
    # A mapped customer whose address changed in QloApps still updates its own guest
    mapped = guest()
    assert update_guest_details(mapped, GuestData(1, "Sam", "Rivera", "Sam.New@Example.com", PHONE), method="email")
    assert mapped.email == "Sam.New@Example.com"
