"""What QloApps holds of an order right after a push wrote it: the read-back, with as few requests as it can.

The push records both sides' hashes after every write (qlosync/sync/outbound/push.py), so that the next pull
and the next push find nothing to do. What it records must be what a full read of the order would give; this
module reads only what the write's own answer cannot tell.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from qlosync.qloapps.client import QloAppsClient
from qlosync.qloapps.models import STATE_CANCELLED, STATE_REFUNDED, Booking, BookingSnapshot, Customer, Order, RoomBooking


def read_back(client: QloAppsClient, order_id: int, answer: Booking | None, order: Order | None = None,
              stays: Counter[tuple[int | None, date, date]] | None = None) -> BookingSnapshot:
    """The order as QloApps holds it after a write: the order is read again (one GET); its room lines and
    customer are taken from the write's answer when it shows all the sync keeps of them, else read too.

    The answer to POST/PUT /api/bookings is the same booking document as a GET (captures 040, 100, 103).

    Why the customer needs no GET after a write: its ``customer_detail`` is read live from the customer
    record (B9: capture 028 shows exactly customer 2's firstname, lastname, email and phone of capture 188,
    after booking 4 renamed it, B17). So it is the customer as the write left it, the four fields the
    content hash takes from a customer, and ``id_customer``. A GET of /api/customers right after could only
    differ by a change made on the website in between, which the hash must not absorb as ours anyway. It
    is used only when its ``id_customer`` is the order's own (read after it); otherwise (no answer, an
    answer without a customer, an order moved to another customer meanwhile) the customer is read.

    Why the room lines often need no GET either: see :func:`lines_in_answer`.

    Why the order is still read: the answer has no status (B7), no ``date_upd``, reference or paid amount
    (the hash and the next push's "did QloApps change?" need them).

    ``stays``: the (QloApps room type, check-in, check-out) of every room the write asked for, counted; a
    live booking's answer with other rooms than these is not taken for its room lines.
    """
    if order is None:
        order = client.get_orders([order_id])[0]
    lines = lines_in_answer(answer, order, stays)
    if lines is None:
        lines = tuple(sorted((rb for rb in client.get_room_bookings_for_orders([order_id]) if rb.id_order == order_id),
                             key=lambda rb: rb.id))
    detail = answer.customer_detail if answer is not None and answer.id == order_id else None
    customer: Customer | None
    if detail is not None and detail.id_customer is not None and detail.id_customer == order.id_customer:
        customer = Customer(detail.id_customer, detail.firstname, detail.lastname, detail.email, detail.phone)
    else:
        customer = next(iter(client.get_customers([order.id_customer])), None)
    return BookingSnapshot(order, lines, customer)


def lines_in_answer(answer: Booking | None, order: Order, stays: Counter[tuple[int | None, date, date]] | None
                    ) -> tuple[RoomBooking, ...] | None:
    """The order's room lines as the write's answer shows them, or None when the answer cannot tell them all.

    Each room of the answer carries its line's id (``id_hotel_booking``), room, adults, children and whole-stay
    prices, under its room type and stay: in every captured POST and PUT answer they equal what
    /api/room_bookings then held for that line (tests/contract/test_answer_lines.py). It lacks two things:

    * child ages (B10), and a child count may come without ages (captures 040/161: 2 children, ``[]``): so only
      an answer whose rooms have no children is taken;
    * the cancelled flags. A cancelled order has every line cancelled and refunded (103/167); a refunded one
      only refunded (112/161), and is read. A live order's answer may list a line cancelled inside it without
      saying so: it is taken only when its rooms are exactly the stays the write asked for.

    And the answer's lines must be the order's own as it was read after the write (``room_booking_ids``): a
    change on the website in between is then seen, not guessed.
    """
    if answer is None or answer.id != order.id:
        return None
    rooms = [(room_type, room) for room_type in answer.room_types for room in room_type.rooms]
    if not rooms or any(room.child for _, room in rooms):
        return None
    if {room.id_hotel_booking for _, room in rooms} != set(order.room_booking_ids) or len(rooms) != len(order.room_booking_ids):
        return None
    if order.current_state == STATE_REFUNDED:
        return None
    cancelled = order.current_state == STATE_CANCELLED
    answered = Counter((room_type.id_room_type, room_type.checkin_date, room_type.checkout_date)
                       for room_type, _ in rooms)
    if not cancelled and answered != stays:
        return None
    return answer_room_lines(answer, order.id_customer, cancelled=cancelled)


def answer_room_lines(answer: Booking, id_customer: int, *, cancelled: bool) -> tuple[RoomBooking, ...]:
    """Every room of a booking document as a room line, by line id; child ages left empty (the answer has
    none), the cancelled flags as given."""
    return tuple(sorted((RoomBooking(
        id=room.id_hotel_booking, id_order=answer.id, id_product=room_type.id_room_type, id_room=room.id_room,
        id_hotel=answer.id_property, id_customer=id_customer, date_from=room_type.checkin_date,
        date_to=room_type.checkout_date, adults=room.adults, children=room.child, child_ages=(),
        total_price_tax_excl=room.unit_price_without_tax,
        total_price_tax_incl=room.unit_price_without_tax + room.total_tax,
        is_cancelled=cancelled, is_refunded=cancelled,
        # Not in the answer, and nothing after a push reads them: the next pull reads the lines whole.
        room_num="", room_type_name=room_type.name, id_status=0, date_upd=None,
    ) for room_type in answer.room_types for room in room_type.rooms), key=lambda rb: rb.id))
