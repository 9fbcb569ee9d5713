"""qlosync's own tables for the hotelmanangement adapter (in qlosync's schema, never in the PMS's ``public``).

The PMS's tables are not qlosync's to change: what the adapter must remember lives here.

* ``hms_reservation_groups``: that PMS holds one room type for one stay per reservation, a QloApps order may
  hold several. The port's reservation is a *group* of that PMS's reservations, named by the id of the first
  of them (its anchor). A PMS reservation with no row here is a group of its own (one made at the front
  desk). The row also keeps the QloApps status a pull last wrote (awaiting, paid or partially paid all land
  as 'Confirmed'), so that a read gives back what was written while the PMS's status still agrees with it.
* ``hms_outbox``: what the capture triggers on that PMS's tables record, for the relay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from qlosync.db.base import Base, created_at_column, one_of
from qlosync.states import OutboxOperation


class HmsReservationGroup(Base):
    __tablename__ = "hms_reservation_groups"
    __table_args__ = (Index("ix_hms_reservation_groups_group", "group_id"),)

    reservation_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # that PMS's reservations.id
    group_id: Mapped[str] = mapped_column(String(36))  # the port's reservation id: its anchor's reservations.id
    hotel_id: Mapped[str] = mapped_column(String(36))
    qloapps_status: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class HmsOutbox(Base):
    __tablename__ = "hms_outbox"
    __table_args__ = (
        one_of("operation", OutboxOperation, name="operation"),
        Index("ix_hms_outbox_unpublished", "id", postgresql_where="published_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    aggregate: Mapped[str] = mapped_column(String(32))  # 'reservation' (a PMS reservation id) or 'room_type'
    aggregate_id: Mapped[str] = mapped_column(String(36))
    operation: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
