"""Guests any PMS writer inserted (by hand, none of qlosync's data) are matched like qlosync's own.

The first tests run for every adapter: the guests come from the PMS's front desk (tests/pms_desk.py) and are
read back through the port. The built-in PMS derives its matching keys (``email_normalized``,
``phone_normalized``) in PostgreSQL from ``email`` and ``phone``; the tests after those check that the Python
functions that key a page's customers give the same values, on its own tables.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from qlosync.db.guest_keys import normalise_email, normalise_phone
from qlosync.db.models import QloAppsCustomerMapping
from qlosync.pms.builtin.tables import PmsGuest
from qlosync.pms.builtin.reservations import GuestInput, find_or_create_guest
from qlosync.db.session import transaction
from qlosync.qloapps.models import BookingRequest, CustomerDetail, RoomRequest, RoomTypeRequest
from qlosync.sync.inbound.pull import run_pull
from tests.integration.sync_helpers import guest_ids_keyed_by, guest_of_order, pms_guest
from tests.pms_desk import desk_for


def _book(client, first: str, last: str, email: str, phone: str) -> int:  # type: ignore[no-untyped-def]
    checkin = date(2030, 9, 1)
    request = BookingRequest(
        id_property=1, currency="USD", source="qlosync-test", customer=CustomerDetail(first, last, email, phone),
        room_types=(RoomTypeRequest(2, checkin, checkin + timedelta(days=2), rooms=(RoomRequest(adults=2),)),),
    )
    return client.create_booking(request).id


def test_a_guest_inserted_by_hand_with_an_email_gets_the_booking_not_a_duplicate(
    deps, client, engine, session_factory, mapped_catalog, shop
):
    # Given a guest typed in at the PMS's desk: e-mail in mixed case with spaces, nothing else of qlosync's
    desk = desk_for(engine)
    guest_id = desk.guest("Sam", "Rivera", "  Sam.Rivera@Example.COM ", None)
    # And a QloApps booking of a customer with that address
    order_id = _book(client, "Sam", "Rivera", "sam.rivera@example.com", "+1 555 010 2030")

    # When it is pulled
    report = run_pull(deps, kind="full")

    # Then no second guest exists and the reservation belongs to the desk's one, matched by e-mail
    assert report.counts["created"] == 1 and report.counts["failed"] == 0
    assert desk.guest_count() == 1
    with transaction(session_factory) as session:
        assert guest_of_order(session, order_id).id == guest_id
        mapping = session.scalars(select(QloAppsCustomerMapping)).one()
        assert (mapping.pms_guest_id, mapping.match_method) == (guest_id, "email")


def test_a_guest_inserted_by_hand_with_a_phone_only_is_matched_by_phone_and_name(
    deps, client, engine, session_factory, mapped_catalog, shop
):
    # Given a guest typed in with a phone and no e-mail
    desk = desk_for(engine)
    guest_id = desk.guest("Bo", "Berg", None, "+46 (70) 123-4567")
    order_id = _book(client, "Bo", "Berg", "bo.berg@example.com", "+46 70 1234567")

    # When the booking is pulled
    assert run_pull(deps, kind="full").counts["created"] == 1

    # Then it goes to that guest by phone and name, who now has the customer's e-mail as a key too
    assert desk.guest_count() == 1
    with transaction(session_factory) as session:
        assert guest_of_order(session, order_id).id == guest_id
        assert pms_guest(session, guest_id).email == "bo.berg@example.com"
        assert guest_ids_keyed_by(session, email="bo.berg@example.com") == [guest_id]
        assert guest_ids_keyed_by(session, phone="+46701234567") == [guest_id]
        assert session.scalars(select(QloAppsCustomerMapping.match_method)).one() == "phone_name"


# -- the built-in PMS's own key columns -----------------------------------------------------------------------


def _insert_by_sql(session_factory, first: str, last: str, email: str | None, phone: str | None) -> int:  # type: ignore[no-untyped-def]
    """What another writer of the built-in PMS does: only the columns a PMS knows about."""
    with transaction(session_factory) as session:
        return int(session.execute(
            text("INSERT INTO pms_guests (first_name, last_name, email, phone) VALUES (:f, :l, :e, :p) RETURNING id"),
            {"f": first, "l": last, "e": email, "p": phone}).scalar_one())


EMAILS = [None, "", "   ", "no-at-sign", " Ana.Lima@Example.COM\t", "\nx@y.example\r\n", "ÉLODIE@Exemple.FR",
          "a@b@c", "\u00a0nbsp@example.com", "MiXeD@ExAmPlE.cOm"]
PHONES = [None, "", "123456", " +46 (70) 123-4567 ", "0611 22 33 44", "+1-555-0102", "tel: 555 0102 999",
          "\t+33 6 11 22 33 44", "++44 20 7946 0958", "٠١٢٣٤٥٦٧٨ 12"]


def test_python_keys_and_database_keys_agree(session_factory, builtin_pms):
    # Given guests inserted by SQL with awkward e-mails and phones
    with transaction(session_factory) as session:
        for email, phone in zip(EMAILS, PHONES, strict=True):
            session.execute(text("INSERT INTO pms_guests (first_name, last_name, email, phone) VALUES ('A', 'B', :e, :p)"),
                            {"e": email, "p": phone})
    # Then the keys PostgreSQL derived are exactly what the Python functions give for the same values
    with transaction(session_factory) as session:
        rows = session.execute(select(PmsGuest.email, PmsGuest.email_normalized, PmsGuest.phone,
                                      PmsGuest.phone_normalized).order_by(PmsGuest.id)).all()
    assert [(r.email_normalized, r.phone_normalized) for r in rows] == [
        (normalise_email(r.email), normalise_phone(r.phone)) for r in rows]
    assert rows[4].email_normalized == "ana.lima@example.com" and rows[3].phone_normalized == "+46701234567"


def test_keys_follow_a_later_sql_update(session_factory, builtin_pms):
    guest_id = _insert_by_sql(session_factory, "Ana", "Lima", None, None)
    with transaction(session_factory) as session:
        session.execute(text("UPDATE pms_guests SET email = ' ANA@Lima.example', phone = '0611223344' WHERE id = :id"),
                        {"id": guest_id})
    with transaction(session_factory) as session:
        guest = session.get_one(PmsGuest, guest_id)
        assert (guest.email_normalized, guest.phone_normalized) == ("ana@lima.example", "0611223344")
    # A writer cannot set a key to something else
    with pytest.raises(DBAPIError, match="generated column"), transaction(session_factory) as session:
        session.execute(text("UPDATE pms_guests SET email_normalized = 'x@y.example' WHERE id = :id"), {"id": guest_id})


@pytest.mark.parametrize("first, last", [("Ana", "Lima"), (" ana", "LIMA ")])
def test_the_reservation_api_matches_guests_like_a_pull(session_factory, builtin_pms, first, last):
    # Given two guests inserted by SQL sharing an address (a family), the second one called Ana Lima
    _insert_by_sql(session_factory, "Bo", "Lima", "lima@example.com", None)
    ana = _insert_by_sql(session_factory, "Ana", "Lima", " Lima@Example.com", None)
    # When the host creates a reservation for Ana Lima with that address (any case, stray spaces)
    with transaction(session_factory) as session:
        found = find_or_create_guest(session, GuestInput(first, last, "LIMA@example.com"))
        # Then it is Ana's guest, as a pull would pick it, and no new guest is made
        assert found.id == ana
        assert session.scalar(select(func.count()).select_from(PmsGuest)) == 2
