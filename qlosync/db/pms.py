"""The reference PMS schema that qlosync syncs into and out of.

A real deployment points these at its own PMS; the shapes are what sync needs: money as NUMERIC,
stay dates as DATE, and one reservation line per booked room (each with its own room type, dates,
occupancy and price), since one QloApps order can hold several room types with different stays.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qlosync.db.base import Base, created_at_column, in_values, updated_at_column

Money = Numeric(12, 2)

RESERVATION_STATUSES = ("pending", "confirmed", "partially_paid", "cancelled", "refunded", "payment_error")
OUTBOX_OPERATIONS = ("create", "update", "cancel", "availability", "rates")


class PmsRoomType(Base):
    """A category of rooms sold at one rate (e.g. "Deluxe Double")."""

    __tablename__ = "pms_room_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    base_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    max_adults: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    max_children: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PmsRoom(Base):
    """A physical room."""

    __tablename__ = "pms_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_type_id: Mapped[int] = mapped_column(ForeignKey("pms_room_types.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="available", server_default="available")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PmsGuest(Base):
    """A person who stays or books; matched by normalised e-mail, then phone plus name."""

    __tablename__ = "pms_guests"
    __table_args__ = (Index("ix_pms_guests_phone_name", "phone_normalized", "last_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_normalized: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PmsReservation(Base):
    """A reservation as the front desk sees it."""

    __tablename__ = "pms_reservations"
    __table_args__ = (
        CheckConstraint(in_values("status", RESERVATION_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("pms_guests.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="pending", server_default="pending")
    source: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    total_without_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    total_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    total_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    booked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remarks: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    lines: Mapped[list[PmsReservationLine]] = relationship(
        back_populates="reservation", cascade="all, delete-orphan", order_by="PmsReservationLine.id"
    )


class PmsReservationLine(Base):
    """One booked room for one stay: room type, dates, room, occupancy and the price of the whole stay."""

    __tablename__ = "pms_reservation_lines"
    __table_args__ = (
        CheckConstraint("checkout > checkin", name="stay_dates"),
        CheckConstraint("adults >= 0 AND children >= 0", name="occupancy"),
        Index("ix_pms_reservation_lines_stay", "room_id", "checkin", "checkout"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("pms_reservations.id", ondelete="CASCADE"), index=True)
    room_type_id: Mapped[int] = mapped_column(ForeignKey("pms_room_types.id", ondelete="RESTRICT"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("pms_rooms.id", ondelete="SET NULL"))
    checkin: Mapped[date] = mapped_column(Date)
    checkout: Mapped[date] = mapped_column(Date)
    adults: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    children: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    child_ages: Mapped[list[int]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    price_without_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    reservation: Mapped[PmsReservation] = relationship(back_populates="lines")


class PmsRoomTypeRate(Base):
    """The price of one night of a room type, tax excluded; nights without a row sell at QloApps' own price."""

    __tablename__ = "pms_room_type_rates"
    __table_args__ = (
        UniqueConstraint("room_type_id", "night"),
        CheckConstraint("price >= 0", name="price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_type_id: Mapped[int] = mapped_column(ForeignKey("pms_room_types.id", ondelete="CASCADE"))
    night: Mapped[date] = mapped_column(Date)
    price: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class PmsClosedNight(Base):
    """A night a room type is not sold on the website (stop-sell), whatever rooms are free."""

    __tablename__ = "pms_closed_nights"
    __table_args__ = (UniqueConstraint("room_type_id", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_type_id: Mapped[int] = mapped_column(ForeignKey("pms_room_types.id", ondelete="CASCADE"))
    night: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class PmsRoomOutage(Base):
    """A room out of order from date_from to date_to (exclusive, like a check-out)."""

    __tablename__ = "pms_room_outages"
    __table_args__ = (
        CheckConstraint("date_to > date_from", name="dates"),
        Index("ix_pms_room_outages_room", "room_id", "date_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("pms_rooms.id", ondelete="CASCADE"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class PmsOutbox(Base):
    """A PMS change waiting to be pushed to QloApps (transactional outbox).

    The PMS change and its outbox row commit together; a relay publishes the row to the outbound queue
    and sets ``published_at`` only after RabbitMQ confirmed it.
    """

    __tablename__ = "pms_outbox"
    __table_args__ = (
        CheckConstraint(in_values("operation", OUTBOX_OPERATIONS), name="operation"),
        Index("ix_pms_outbox_unpublished", "id", postgresql_where="published_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    aggregate: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
