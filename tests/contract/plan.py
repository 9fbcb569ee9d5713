"""The order in which the captures were taken, plus the uncaptured steps between them.

The captures are numbered by topic, not by time: e.g. 021 GETs booking 1 created by 040, and 024 lists the
36 bookings of which 14 were created by uncaptured POSTs. Replaying this plan against ONE simulator makes
ids, dates and states line up with what each capture expects. The clock is frozen at the (observed) times.
"""

from __future__ import annotations

from typing import Any, Callable

Step = tuple[str, Any]  # ("clock", "YYYY-MM-DD HH:MM:SS") | ("capture", "NNN") | ("setup", callable)

# Bookings 23-36: plain POSTs like 040, not captured (dates/types/rooms from 161, 166; sources from 152).
EXTRA_BOOKINGS = [
    # (room type, from, to, rooms, first, last, source, booking_status)
    (1, "2026-12-01", "2026-12-03", 1, "Liam", "Brown", "Booking.com", 1),
    (2, "2026-12-05", "2026-12-08", 2, "Mia", "Garcia", "Expedia", 2),
    (3, "2026-12-24", "2026-12-27", 1, "Noah", "Muller", "Direct", 1),
    (4, "2026-12-30", "2027-01-02", 1, "Olga", "Ivanova", "Phone", 2),
    (1, "2027-02-14", "2027-02-16", 2, "Paul", "Durand", "Booking.com", 1),
    (2, "2027-02-20", "2027-02-22", 1, "Quinn", "Taylor", "Expedia", 2),
    (3, "2027-03-01", "2027-03-05", 1, "Rosa", "Lopez", "Direct", 1),
    (4, "2027-03-10", "2027-03-12", 2, "Sven", "Larsen", "Phone", 2),
    (1, "2027-04-01", "2027-04-04", 1, "Tara", "Singh", "Booking.com", 1),
    (2, "2027-04-10", "2027-04-11", 1, "Umar", "Khan", "Expedia", 2),
    (3, "2027-04-15", "2027-04-18", 1, "Vera", "Costa", "Direct", 1),
    (4, "2027-05-01", "2027-05-03", 1, "Wim", "Jansen", "Phone", 2),
    (1, "2027-05-20", "2027-05-22", 3, "Xena", "Popescu", "Booking.com", 1),
    (2, "2027-06-01", "2027-06-05", 1, "Yuki", "Tanaka", "Expedia", 2),
]


def _booking(room_type: int, d_from: str, d_to: str, rooms: int, first: str, last: str, source: str,
             status: int) -> dict[str, Any]:
    return {"id_property": 1, "currency": "USD", "booking_status": status, "payment_status": 3 if status == 1 else 1,
            "source": source,
            "associations": {"customer_detail": {"firstname": first, "lastname": last,
                                                 "email": f"{first}.{last}@example.com".lower(),
                                                 "phone": "0611223344"},
                             "room_types": [{"id_room_type": room_type, "checkin_date": d_from,
                                             "checkout_date": d_to, "number_of_rooms": rooms}]}}


def create_extra_bookings(sim: Any, first: int, last: int) -> None:
    """Bookings 23..36 (slice of EXTRA_BOOKINGS by order id)."""
    for row in EXTRA_BOOKINGS[first - 23:last - 22]:
        sim.store.create_booking(_booking(*row))


def order_15_from_054(sim: Any) -> None:
    """054 answered 500 on the unpatched server but had created order 15 (README); create it the same way."""
    from tests.contract.captures import load_captures, samples_dir
    import json

    cap = next(c for c in load_captures(samples_dir()) if c.number == "054")
    sim.store.create_booking(json.loads(cap.meta["request_body"])["booking"])


def cancel_24_29_33(sim: Any) -> None:
    """Uncaptured cancellations (README: cancelled 5, 14, 24, 29, 33)."""
    for order_id in (24, 29, 33):
        sim.store.cancel_booking(order_id)


def burn_feature_price_ids(sim: Any) -> None:
    """The failed unpatched updRoomRateAvail runs consumed feature_price ids 1-3 (289 starts at 4)."""
    import requests

    from tests.contract.captures import TEST_API_KEY

    xml = ('<?xml version="1.0" encoding="UTF-8"?><qloapps><feature_price><id_product>1</id_product>'
           '<date_from>2030-01-01</date_from><date_to>2030-01-02</date_to><impact_way>1</impact_way>'
           '<impact_type>2</impact_type><impact_value>1</impact_value><active>1</active></feature_price></qloapps>')
    auth = (TEST_API_KEY, "")
    for _ in range(3):
        r = requests.post(sim.base_url + "/api/feature_prices", data=xml, auth=auth, timeout=10)
        r.raise_for_status()
        fid = int(r.text.split("<id><![CDATA[")[1].split("]]>")[0])
        requests.delete(f"{sim.base_url}/api/feature_prices/{fid}", auth=auth, timeout=10).raise_for_status()


def timing_bookings(sim: Any) -> None:
    """The first 9 of the 10 timing POSTs of 323 (same shape, other dates); 323 replays the 10th."""
    for i in range(9):
        day = 10 + i
        sim.store.create_booking({
            "id_property": 1, "currency": "USD", "booking_status": 1, "payment_status": 3, "source": "timing",
            "associations": {"customer_detail": {"firstname": "Tim", "lastname": "Ing", "email": "tim.ing@example.com",
                                                 "phone": "0100000000"},
                             "room_types": [{"id_room_type": 2, "checkin_date": f"2027-11-{day:02d}",
                                             "checkout_date": f"2027-11-{day + 1:02d}", "number_of_rooms": 1}]}})


def order_12_reference(sim: Any) -> dict[str, str]:
    """178 filters by the real server's reference of order 12; use ours instead."""
    return {"KADMMSDMB": sim.store.tables["orders"][12]["reference"]}


# capture number -> function giving query substitutions for server-generated values
QUERY_SUBSTITUTIONS: dict[str, Callable[[Any], dict[str, str]]] = {"178": order_12_reference}


def _caps(*numbers: str) -> list[Step]:
    return [("capture", n) for n in numbers]


def _range(first: int, last: int) -> list[str]:
    return [f"{n:03d}" for n in range(first, last + 1)]


def build_plan() -> list[Step]:
    """Chronological replay plan covering every capture number exactly once."""
    t = "2026-11-27 "
    plan: list[Step] = [("clock", t + "04:54:50")]
    plan += _caps("001", "002", "003", "004", "005", "006", "007", "020", "023", "029", "030")
    plan += [("clock", t + "04:55:26")] + _caps("040", "021", "022")
    plan += [("clock", t + "04:55:38")] + _caps("041", "042", "043", "028")
    plan += [("clock", t + "04:55:44")] + _caps("044")
    plan += [("clock", t + "04:55:45")] + _caps("045", "046", "047", "048", "049", "050")
    plan += [("clock", t + "04:55:58")] + _caps("051")
    plan += [("clock", t + "04:55:59")] + _caps("052", "053", "054") + [("setup", order_15_from_054)] + _caps("055")
    plan += [("clock", t + "04:56:08")] + _caps("056", "057", "058") + _caps(*_range(60, 72))
    plan += [("clock", t + "04:56:20")] + _caps(*_range(73, 86))
    plan += [("clock", t + "04:56:32")] + _caps("087")
    plan += [("clock", t + "04:56:40"), ("setup", lambda s: create_extra_bookings(s, 23, 26)),
             ("clock", t + "04:56:41"), ("setup", lambda s: create_extra_bookings(s, 27, 32)),
             ("clock", t + "04:56:42"), ("setup", lambda s: create_extra_bookings(s, 33, 36))]
    plan += [("clock", t + "04:56:45")] + _caps("024", "025", "026")
    plan += [("clock", t + "04:56:53")] + _caps(*_range(100, 114)) + _caps("027")
    plan += [("clock", t + "04:56:56"), ("setup", cancel_24_29_33)]
    plan += [("clock", t + "04:57:30")] + _caps(*_range(130, 155)) + _caps(*_range(160, 179))
    plan += [("clock", t + "04:57:43")] + _caps(*_range(180, 191))
    plan += [("clock", t + "04:57:50")] + _caps(*_range(200, 221)) + _caps(*_range(240, 251))
    plan += _caps(*_range(260, 273))
    plan += [("clock", t + "04:58:06")] + _caps(*_range(274, 286))
    plan += [("clock", t + "04:58:30"), ("setup", burn_feature_price_ids)]
    plan += [("clock", t + "04:58:32")] + _caps(*_range(287, 293))
    plan += [("clock", t + "04:58:43")] + _caps(*_range(294, 301))
    plan += [("clock", t + "04:58:51")] + _caps(*_range(302, 310))
    plan += [("clock", t + "04:58:56")] + _caps("311", "312")
    plan += [("clock", t + "04:59:09")] + _caps("320", "321", "322") + [("setup", timing_bookings)]
    plan += [("clock", t + "04:59:10")] + _caps("323", "324")
    return plan


