"""Guest matching: e-mail, then phone plus name where a side has no e-mail, else a new guest; never a weak merge."""

from __future__ import annotations

from sqlalchemy import select

from qlosync.db.config_store import save_config
from qlosync.db.models import QloAppsCustomerMapping
from qlosync.db.session import transaction
from qlosync.pms import open_pms, shop_hotel
from qlosync.sync.inbound.guests import GuestMatch, match_guest
from qlosync.sync.inbound.mapper import GuestData
from tests.integration.sync_helpers import pms_guest
from tests.pms_desk import desk_for

KEY_ROW = {"base_url": "http://qlo.test", "sync_enabled": True}


def _shop_id(session) -> int:  # type: ignore[no-untyped-def]
    from qlosync.crypto import KeyCipher, generate_secret_key
    from qlosync.secrets import Secret

    cipher = KeyCipher(Secret(generate_secret_key()))
    return save_config(session, cipher, api_key=Secret("A" * 32), **KEY_ROW).id  # type: ignore[arg-type]


def _guest(engine, first, last, email=None, phone=None) -> str:  # type: ignore[no-untyped-def]
    """A guest the PMS already has, typed in at its front desk (committed before the match runs)."""
    return desk_for(engine).guest(first, last, email, phone)


def _match(session, shop_id: int, data: GuestData) -> GuestMatch:  # type: ignore[no-untyped-def]
    """match_guest in the PMS's only hotel, which a shop that names none syncs with."""
    return match_guest(session, shop_hotel(open_pms(session), None), shop_id, data)


def test_email_match_ignores_case_and_spaces(engine, session_factory):
    with transaction(session_factory) as session:
        shop_id = _shop_id(session)
        existing = _guest(engine, "Ana", "Lima", email="Ana.Lima@Example.com")
        match = _match(session, shop_id, GuestData(7, "Ana", "Lima", "  ana.lima@example.COM ", None))
        assert (match.guest.id, match.method, match.new_mapping) == (existing, "email", True)
        mapping = session.scalars(select(QloAppsCustomerMapping)).one()
        assert (mapping.qloapps_customer_id, mapping.pms_guest_id, mapping.match_method) == (7, existing, "email")


def test_phone_plus_name_matches_a_guest_without_email(engine, session_factory):
    with transaction(session_factory) as session:
        shop_id = _shop_id(session)
        existing = _guest(engine, "Bo", "Berg", phone="+46 (70) 123-4567")
        match = _match(session, shop_id, GuestData(8, "bo", "BERG", "bo@new.example", "+46 70 1234567"))
        assert (match.guest.id, match.method) == (existing, "phone_name")


def test_phone_plus_name_with_another_email_is_a_new_guest(engine, session_factory):
    with transaction(session_factory) as session:
        shop_id = _shop_id(session)
        existing = _guest(engine, "Bo", "Berg", email="bo@old.example", phone="+46 (70) 123-4567")
        match = _match(session, shop_id, GuestData(8, "bo", "BERG", "bo@new.example", "+46 70 1234567"))
        assert match.method == "created" and match.guest.id != existing
        assert match.note and "different person" in match.note


def test_phone_alone_with_another_name_is_a_new_guest(engine, session_factory):
    with transaction(session_factory) as session:
        shop_id = _shop_id(session)
        existing = _guest(engine, "Cleo", "Diaz", phone="0611223344")
        match = _match(session, shop_id, GuestData(9, "Dan", "Diaz", "dan@example.com", "0611223344"))
        assert match.method == "created" and match.guest.id != existing
        assert match.guest.id is not None and pms_guest(session, match.guest.id).email == "dan@example.com"


def test_two_guests_sharing_phone_and_name_are_not_merged(engine, session_factory):
    with transaction(session_factory) as session:
        shop_id = _shop_id(session)
        first = _guest(engine, "Eve", "Fox", phone="0700000001")
        second = _guest(engine, "Eve", "Fox", phone="0700000001")
        match = _match(session, shop_id, GuestData(10, "Eve", "Fox", None, "0700000001"))
        assert match.method == "created" and match.guest.id not in (first, second)
        assert match.note and "not merging" in match.note


def test_a_mapped_customer_keeps_its_guest(engine, session_factory):
    with transaction(session_factory) as session:
        shop_id = _shop_id(session)
        first = _match(session, shop_id, GuestData(11, "Gil", "Ho", "gil@example.com", None))
        # The QloApps customer changes e-mail later: still the same guest
        again = _match(session, shop_id, GuestData(11, "Gil", "Ho", "gil.ho@work.example", None))
        assert again.guest.id == first.guest.id and again.new_mapping is False
