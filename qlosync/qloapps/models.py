"""Typed, frozen views of the QloApps resources sync needs, and the requests it sends.

Datetimes are naive and in the QloApps server's clock (UTC on the reference install): QloApps never says
which zone it uses. Money is :class:`~decimal.Decimal`. Field names follow QloApps where they are clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

# booking_status values accepted by POST/PUT /api/bookings (B20, B26).
BOOKING_STATUS_AWAITING = 1
BOOKING_STATUS_COMPLETED = 2
BOOKING_STATUS_CANCELLED = 3
BOOKING_STATUS_REFUNDED = 4
# payment_status values (B20).
PAYMENT_STATUS_COMPLETED = 1
PAYMENT_STATUS_PARTIAL = 2
PAYMENT_STATUS_AWAITING = 3
# orders.current_state of the demo data (175).
STATE_AWAITING_PAYMENT = 1
STATE_PAID = 2
STATE_CANCELLED = 4
STATE_REFUNDED = 5
STATE_PARTIAL_PAYMENT = 8


@dataclass(frozen=True)
class Order:
    """An order from /api/orders: the booking's status (current_state) and change time live here (B7)."""

    id: int
    id_customer: int
    current_state: int
    date_add: datetime
    date_upd: datetime
    reference: str
    source: str
    id_currency: int
    total_paid: Decimal
    total_paid_tax_incl: Decimal
    total_paid_tax_excl: Decimal
    total_paid_real: Decimal
    total_products: Decimal
    total_products_wt: Decimal
    total_discounts: Decimal
    room_booking_ids: tuple[int, ...]

    @property
    def cursor(self) -> tuple[datetime, int]:
        """The (date_upd, id) key that incremental listings are ordered by."""
        return (self.date_upd, self.id)


@dataclass(frozen=True)
class RoomBooking:
    """One booked room line from /api/room_bookings (htl_booking_detail)."""

    id: int
    id_order: int
    id_product: int  # the room type
    id_room: int
    id_hotel: int
    id_customer: int
    date_from: date
    date_to: date
    adults: int
    children: int
    child_ages: tuple[int, ...]
    total_price_tax_excl: Decimal
    total_price_tax_incl: Decimal
    is_cancelled: bool
    is_refunded: bool
    room_num: str
    room_type_name: str
    id_status: int
    date_upd: datetime | None  # NOT touched by a cancellation (B31): use Order.date_upd for change tracking


@dataclass(frozen=True)
class Customer:
    """A customer (guest account) from /api/customers."""

    id: int
    firstname: str
    lastname: str
    email: str
    phone: str
    date_upd: datetime | None = None


@dataclass(frozen=True)
class Hotel:
    """A hotel (= QloApps property) from /api/hotels."""

    id: int
    name: str
    city: str
    email: str
    phone: str
    check_in: str
    check_out: str
    active: bool
    room_type_ids: tuple[int, ...]


@dataclass(frozen=True)
class RoomType:
    """A room type (a booking product) from /api/room_types; price is per night, tax excluded."""

    id: int
    name: str
    price: Decimal
    id_hotel: int | None
    active: bool
    adults: int | None = None
    children: int | None = None


@dataclass(frozen=True)
class HotelRoom:
    """A physical room from /api/hotel_rooms (root key "rooms", B32)."""

    id: int
    id_product: int
    id_hotel: int
    room_num: str
    id_status: int


@dataclass(frozen=True)
class OrderState:
    """An order state (1 awaiting payment, 2 paid, 4 cancelled, 5 refunded, ...)."""

    id: int
    name: str
    paid: bool
    template: str


@dataclass(frozen=True)
class CustomerDetail:
    """The customer block of a booking; on GET it is read live from the customer record (B9)."""

    firstname: str
    lastname: str
    email: str
    phone: str
    id_customer: int | None = None


@dataclass(frozen=True)
class PriceDetails:
    """Booking totals as /api/bookings reports them."""

    total_paid: Decimal
    total_price_without_tax: Decimal
    total_tax: Decimal


@dataclass(frozen=True)
class BookingRoom:
    """One physical room of a booking; prices are for the WHOLE stay, not per night (B8)."""

    id_room: int
    id_hotel_booking: int
    adults: int
    child: int
    unit_price_without_tax: Decimal
    total_tax: Decimal


@dataclass(frozen=True)
class BookingRoomType:
    """The rooms of one room type for one stay inside a booking."""

    id_room_type: int
    checkin_date: date
    checkout_date: date
    number_of_rooms: int
    name: str
    total_tax: Decimal
    rooms: tuple[BookingRoom, ...]


@dataclass(frozen=True)
class Booking:
    """The /api/bookings representation; it has no status (B7): join with Order.current_state."""

    id: int
    id_property: int
    currency: str
    source: str
    booking_date: datetime | None
    customer_detail: CustomerDetail
    price_details: PriceDetails
    remarks: tuple[str, ...]
    room_types: tuple[BookingRoomType, ...]


@dataclass(frozen=True)
class BookingSnapshot:
    """Everything inbound sync needs for one booking: the order, its room lines and its customer."""

    order: Order
    room_bookings: tuple[RoomBooking, ...]
    customer: Customer | None  # None if the customer record is gone

    @property
    def id(self) -> int:
        return self.order.id

    @property
    def consistent(self) -> bool:
        """False when the room lines changed between the orders and room_bookings requests.

        A date or room-type change replaces room lines (B24) and bumps the order's date_upd, so the next
        pass sees the order again; until then, do not act on a half-old, half-new snapshot.
        """
        return {rb.id for rb in self.room_bookings} == set(self.order.room_booking_ids)


@dataclass(frozen=True)
class RoomRequest:
    """One room of a booking request. child_ages=None means "unknown": occupancy is then not sent."""

    adults: int | None = None
    children: int = 0
    child_ages: tuple[int, ...] | None = ()
    id_room: int | None = None
    unit_price_without_tax: Decimal | None = None  # whole-stay price, tax excluded (B21)


@dataclass(frozen=True)
class RoomTypeRequest:
    """One room type and stay of a booking request."""

    id_room_type: int
    checkin_date: date
    checkout_date: date
    rooms: tuple[RoomRequest, ...] = ()
    number_of_rooms: int | None = None  # defaults to len(rooms)


@dataclass(frozen=True)
class PaymentDetail:
    """payment_detail of a booking request; payment_type is "online", "remote" or "pay at hotel"."""

    payment_type: str
    payment_method: str = ""
    transaction_id: str = ""


@dataclass(frozen=True)
class BookingRequest:
    """A POST (id=None) or full PUT (id set) of /api/bookings."""

    id_property: int
    currency: str
    customer: CustomerDetail
    room_types: tuple[RoomTypeRequest, ...]
    id: int | None = None
    booking_status: int | None = BOOKING_STATUS_AWAITING
    payment_status: int | None = PAYMENT_STATUS_AWAITING
    source: str | None = None
    booking_date: datetime | None = None
    remark: str | None = None
    payment_detail: PaymentDetail | None = None
    total_paid: Decimal | None = None
    total_price_with_tax: Decimal | None = None


@dataclass(frozen=True)
class RoomTypeAvailability:
    """One room type in a hotel_ari answer; prices include auto-added services (B39)."""

    id_room_type: int
    name: str
    base_price: Decimal
    base_price_with_tax: Decimal
    total_price: Decimal
    total_price_with_tax: Decimal
    available_room_ids: tuple[int, ...]
    booked_room_ids: tuple[int, ...] = ()
    partially_available_room_ids: tuple[int, ...] = ()
    unavailable_room_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Availability:
    """A hotel_ari search result for one hotel and stay (date_to is the check-out day)."""

    id_hotel: int
    date_from: date
    date_to: date
    currency: str
    total_rooms: int
    total_available_rooms: int
    room_types: tuple[RoomTypeAvailability, ...]


@dataclass(frozen=True)
class RoomRate:
    """One night of one room type from qlo/getRoomRates (B41)."""

    date: date
    id_room_type: int
    tax_exc: Decimal
    tax_inc: Decimal
    available_rooms: int


@dataclass(frozen=True)
class FeaturePriceRequest:
    """A feature price rule (B43): impact_way 1 decrease / 2 increase / 3 fixed; impact_type 1 % / 2 amount / 3 fixed."""

    id_product: int
    date_from: date
    date_to: date
    impact_way: int
    impact_type: int
    impact_value: Decimal
    name: str
    group_ids: tuple[int, ...] = (1, 2, 3)  # without groups the rule is never applied (B42)
    date_selection_type: int = 1  # 1 = range, 2 = specific date
    active: bool = True
    id_lang: int = 1


@dataclass(frozen=True)
class FeaturePrice:
    """A stored feature price rule."""

    id: int
    id_product: int
    date_from: date
    date_to: date
    impact_way: int
    impact_type: int
    impact_value: Decimal
    active: bool
    group_ids: tuple[int, ...] = field(default_factory=tuple)
    name: str = ""
    date_selection_type: int = 1
