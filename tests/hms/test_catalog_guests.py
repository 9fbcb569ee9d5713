"""The hotelmanangement adapter's hotels, catalog and guests, through the port, checked against that PMS's rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from qlosync.db.guest_keys import EMAIL_KEY_SQL, PHONE_KEY_SQL, normalise_email, normalise_phone, same_name
from qlosync.db.session import transaction
from qlosync.errors import PermanentError
from qlosync.pms import UnknownHotel
from qlosync.pms.hotelmanangement.adapter import HmsPms
from qlosync.pms.hotelmanangement.catalog import floor_of, room_kind
from qlosync.pms.hotelmanangement.guests import EMAIL_KEY, PHONE_KEY, joined_name, split_name
from qlosync.pms.port import Guest, NewRoomType
from qlosync.states import MatchMethod
from qlosync.sync.inbound.guests import GuestIndex
from qlosync.sync.inbound.mapper import GuestData
from tests.hms.support import DEFAULT_HOTEL, add_hotel, hotel

Sessions = sessionmaker[Session]


def test_hotels_are_the_live_ones_opened_by_their_id_as_the_pms_writes_it(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        seaside = add_hotel(session, "Seaside")
        closed = add_hotel(session, "Closed")
        session.execute(text("UPDATE hotels SET deleted_at = now() WHERE id = CAST(:id AS uuid)"), {"id": closed})
        pms = HmsPms(session)
        assert {(h.id, h.name) for h in pms.hotels()} == {(DEFAULT_HOTEL, "Default Hotel"), (seaside, "Seaside")}
        assert pms.hotel(seaside).hotel_id == seaside
        for unknown in (closed, seaside.upper(), f" {seaside}", seaside.replace("-", ""), "1", "not-an-id", ""):
            with pytest.raises(UnknownHotel, match="the PMS has no hotel"):
                pms.hotel(unknown)


def test_a_room_type_lands_as_that_pms_holds_one_and_lists_while_live(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        double = at.create_room_type(NewRoomType("DBL", "Deluxe Double", Decimal("95.5"), 2, 1))
        suite = at.create_room_type(NewRoomType("S" * 60, "Suite", Decimal("190"), 4, 2))
        row = session.execute(text(
            "SELECT hotel_id::text, name, room_type, qty, price_per_night, max_adult, max_children, max_people,"
            " created_at IS NOT NULL AND updated_at IS NOT NULL FROM room_types WHERE id = CAST(:id AS uuid)"),
            {"id": double.id}).one()
        assert tuple(row) == (DEFAULT_HOTEL, "Deluxe Double", "DBL", 1, Decimal("95.50"), 2, 1, 3, True)
        assert suite.code == "S" * 50  # room_types.room_type is varchar(50)
        assert at.room_types() == [double, suite]  # oldest first, though made in one transaction
        session.execute(text("UPDATE room_types SET deleted_at = now() WHERE id = CAST(:id AS uuid)"), {"id": suite.id})
        assert at.room_types() == [double]
        assert HmsPms(session).hotels_of_room_types([double.id, suite.id, "nope"]) == {
            double.id: DEFAULT_HOTEL, suite.id: DEFAULT_HOTEL}


def test_a_room_fills_the_legacy_columns_and_raises_its_types_qty(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        double = at.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 0)).id
        rooms = [at.create_room(double, number) for number in ("305", "1204", "12")]
        row = session.execute(text(
            "SELECT hotel_id::text, room_type_id::text, status, type, room_type, price_per_night, floor"
            " FROM rooms WHERE id = CAST(:id AS uuid)"), {"id": rooms[0].id}).one()
        assert tuple(row) == (DEFAULT_HOTEL, double, "Available", "Double", "DBL", Decimal("90.00"), 3)
        assert session.scalar(text("SELECT qty FROM room_types WHERE id = CAST(:id AS uuid)"), {"id": double}) == 3
        assert [r.number for r in at.rooms()] == ["12", "1204", "305"]  # by number
        assert all(r.room_type_id == double for r in at.rooms())


def test_a_rooms_qty_is_never_lowered_nor_raised_past_99(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        big = at.create_room_type(NewRoomType("BIG", "Dorm bed", Decimal("20"), 1, 0)).id
        session.execute(text("UPDATE room_types SET qty = 5 WHERE id = CAST(:id AS uuid)"), {"id": big})
        at.create_room(big, "1")
        assert session.scalar(text("SELECT qty FROM room_types WHERE id = CAST(:id AS uuid)"), {"id": big}) == 5
        session.execute(text(
            "INSERT INTO rooms (hotel_id, room_number, room_type_id, type, room_type, price_per_night, floor)"
            " SELECT CAST(:hotel AS uuid), 'x' || n, CAST(:id AS uuid), 'Other', 'BIG', 20, 0"
            " FROM generate_series(1, 99) n"), {"hotel": DEFAULT_HOTEL, "id": big})
        at.create_room(big, "2")
        assert session.scalar(text("SELECT qty FROM room_types WHERE id = CAST(:id AS uuid)"), {"id": big}) == 99


def test_room_types_and_rooms_stay_in_their_hotel(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        seaside = add_hotel(session, "Seaside")
        a, b = hotel(session), hotel(session, seaside)
        double = a.create_room_type(NewRoomType("DBL", "Double", Decimal("90"), 2, 1))
        other = b.create_room_type(NewRoomType("DBL", "Double", Decimal("80"), 3, 0))
        a.create_room(double.id, "101")
        b.create_room(other.id, "101")  # the same number in another hotel
        assert a.room_types() == [double] and b.room_types() == [other]
        assert [r.room_type_id for r in b.rooms()] == [other.id]
        with pytest.raises(PermanentError):
            b.create_room(double.id, "102")


@pytest.mark.parametrize(("code", "name", "kind"), [
    ("DBL", "Deluxe Double", "Double"), ("STE", "Junior Suite", "Suite"), ("TWN", "Twin room", "Double"),
    ("SGL", "Single", "Single"), ("FAM", "Family room", "Double"), ("SUITE-12", "Premium", "Suite")])
def test_the_legacy_room_type_is_read_off_the_room_types_words(code: str, name: str, kind: str) -> None:
    assert room_kind(code, name) == kind


@pytest.mark.parametrize(("number", "floor"), [("101", 1), ("1204", 12), ("7", 0), ("A12", 0), ("０12", 0)])
def test_the_floor_is_read_off_the_room_number(number: str, floor: int) -> None:
    assert floor_of(number) == floor


@pytest.mark.parametrize(("first", "last", "name", "back"), [
    ("Ann", "Lee", "Ann Lee", ("Ann", "Lee")),
    (" Mary  Ann ", " Smith", "Mary Ann Smith", ("Mary", "Ann Smith")),
    ("Cher", "", "Cher", ("Cher", "")),
    ("", "Lee", "Lee", ("Lee", "")),
    ("Jean\tLuc", "de la Tour", "Jean Luc de la Tour", ("Jean", "Luc de la Tour")),
])
def test_a_name_is_joined_into_one_field_and_split_at_its_first_space_and_still_the_same_name(
        first: str, last: str, name: str, back: tuple[str, str]) -> None:
    assert joined_name(first, last) == name
    assert split_name(name) == back
    assert same_name(Guest(None, *back), first, last)


def test_same_name_still_tells_two_names_apart() -> None:
    assert not same_name(Guest(None, "Ann", "Lee"), "Anne", "Lee")
    assert not same_name(Guest(None, "Ann", "Lee Park"), "Ann", "Lee")
    assert same_name(Guest(None, "ANN", "lee"), "ann", "LEE")


def test_guests_are_saved_as_one_name_and_found_by_id_email_or_phone_key(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        ann = Guest(None, "Mary Ann", "Lee", " Ann.Lee@Example.com ", "+1 (555) 010-2030")
        bob = Guest(None, "Bob", "Ray", None, "0611 22 33 44")
        at.save_guests([ann, bob])
        assert ann.id and bob.id
        row = session.execute(text("SELECT hotel_id::text, name, email, phone FROM guests WHERE id = CAST(:id AS uuid)"),
                              {"id": ann.id}).one()
        assert tuple(row) == (DEFAULT_HOTEL, "Mary Ann Lee", " Ann.Lee@Example.com ", "+1 (555) 010-2030")
        found = Guest(ann.id, "Mary", "Ann Lee", ann.email, ann.phone)  # the name as that PMS gives it back
        assert at.guests_matching([], ["ann.lee@example.com"], []) == [found]
        assert at.guests_matching([], [], ["+15550102030"]) == [found]
        assert at.guests_matching([bob.id, "not-an-id"], [], ["0611223344"]) == [Guest(bob.id, "Bob", "Ray", None,
                                                                                        "0611 22 33 44")]
        assert [g.id for g in at.guests_matching([bob.id], ["ann.lee@example.com"], [])] == [ann.id, bob.id]
        assert at.guests_matching([], [], []) == []


AWKWARD_EMAILS = [" A@B.C ", "\tMiXeD@Example.COM\n", "Zoë@ÉXAMPLE.com", "İSTANBUL@Example.com", "ǅ@x.y", "no-at",
                  "", "  ", "@", "x\x0b@y\x0c", "a@b\u00a0", None]
AWKWARD_PHONES = ["+1 (555) 010-2030", " +44 20", "\t+12345678", "１２３４５６７８", "+-+1234567", "12 34 56",
                  "phone: 5550100x", "٣٣٣٣٣٣٣٣ 1234567", "\u00a0+1234567", "", None]


def test_the_adapters_keys_are_the_built_in_pmss_and_syncs(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        emails = session.execute(text(
            f"SELECT email, ({EMAIL_KEY_SQL}), ({EMAIL_KEY.format(email='email')})"
            " FROM unnest(CAST(:values AS text[])) WITH ORDINALITY t(email, n) ORDER BY n"),
            {"values": AWKWARD_EMAILS}).all()
        phones = session.execute(text(
            f"SELECT phone, ({PHONE_KEY_SQL}), ({PHONE_KEY.format(phone='phone')})"
            " FROM unnest(CAST(:values AS text[])) WITH ORDINALITY t(phone, n) ORDER BY n"),
            {"values": AWKWARD_PHONES}).all()
    assert [(raw, builtin) for raw, builtin, _ in emails] == [(raw, normalise_email(raw)) for raw in AWKWARD_EMAILS]
    assert [(raw, ours) for raw, _, ours in emails] == [(raw, normalise_email(raw)) for raw in AWKWARD_EMAILS]
    assert [(raw, builtin) for raw, builtin, _ in phones] == [(raw, normalise_phone(raw)) for raw in AWKWARD_PHONES]
    assert [(raw, ours) for raw, _, ours in phones] == [(raw, normalise_phone(raw)) for raw in AWKWARD_PHONES]


@pytest.mark.parametrize("raw", ["  MiXeD@Example.COM\t", "no-at-sign.example.com", "Zoë@Example.com", "a@b", ""])
def test_the_email_key_is_the_one_sync_computes(hms_sessions: Sessions, raw: str) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        guest = Guest(None, "Key", "Test", raw or None, None)
        at.save_guests([guest])
        key = normalise_email(raw)
        if key is None:
            assert at.guests_matching([], [raw.strip(), raw.lower()], []) == []
        else:
            assert [g.id for g in at.guests_matching([], [key], [])] == [guest.id]
            assert at.guests_matching([], [key.upper()], []) == []


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", " +1-555-010-2030", "(0) 611 22 33 44", "12345", "phone: 5550100x"])
def test_the_phone_key_is_the_one_sync_computes(hms_sessions: Sessions, raw: str) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        guest = Guest(None, "Key", "Test", None, raw)
        at.save_guests([guest])
        key = normalise_phone(raw)
        if key is None:
            assert at.guests_matching([], [], ["".join(c for c in raw if c.isdigit())]) == []
        else:
            assert [g.id for g in at.guests_matching([], [], [key])] == [guest.id]


def test_a_soft_deleted_guest_is_never_matched_nor_written(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        gone = Guest(None, "Gone", "Away", "gone@example.com", "+1 555 0199")
        at.save_guests([gone])
        session.execute(text("UPDATE guests SET deleted_at = now() WHERE id = CAST(:id AS uuid)"), {"id": gone.id})
        assert gone.id is not None
        assert at.guests_matching([gone.id], ["gone@example.com"], ["+15550199"]) == []
        with pytest.raises(PermanentError):
            at.save_guests([gone])


def test_saving_a_guest_writes_what_changed_and_leaves_an_unchanged_one_alone(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        ann, same = Guest(None, "Ann", "Lee", "ann@example.com", None), Guest(None, "Bob", "Ray", None, "0611223344")
        hotel(session).save_guests([ann, same])
        session.execute(text("UPDATE guests SET updated_at = now() - interval '1 day'"))
    with transaction(hms_sessions) as session:
        ann.last_name, ann.email = "Lee-Park", None
        hotel(session).save_guests([ann, same])
        rows: dict[str, bool] = dict(session.execute(text(
            "SELECT name, updated_at > now() - interval '1 hour' FROM guests ORDER BY created_at")).all())
        assert rows == {"Ann Lee-Park": True, "Bob Ray": False}
        assert hotel(session).guests_matching([], ["ann@example.com"], []) == []


def test_guests_are_matched_and_written_per_hotel(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        seaside = add_hotel(session, "Seaside")
        a, b = hotel(session), hotel(session, seaside)
        ann, twin = Guest(None, "Ann", "Lee", "ann@example.com", None), Guest(None, "Ann", "Lee", "ann@example.com", None)
        a.save_guests([ann])
        b.save_guests([twin])
        assert ann.id is not None and ann.id != twin.id
        assert b.guests_matching([ann.id], ["ann@example.com"], []) == [twin]
        assert session.scalar(text("SELECT hotel_id::text FROM guests WHERE id = CAST(:id AS uuid)"),
                              {"id": twin.id}) == seaside
        with pytest.raises(PermanentError):
            b.save_guests([ann])


def test_phone_and_name_matching_finds_a_guest_whose_name_went_through_the_one_field(hms_sessions: Sessions) -> None:
    with transaction(hms_sessions) as session:
        at = hotel(session)
        at.save_guests([Guest(None, "Mary Ann", "Smith", None, "+44 20 7946 0958")])
        customer = GuestData(qloapps_customer_id=7, first_name="Mary Ann", last_name="Smith", email="mas@example.com",
                             phone="+44 20 7946 0958")
        index = GuestIndex.load(session, at, config_id=1, customers=[customer])
        match = index.match(customer)
        assert match.method == MatchMethod.PHONE_NAME and match.guest.id is not None
