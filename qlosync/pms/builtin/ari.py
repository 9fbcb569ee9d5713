"""What the built-in PMS sells: rates per night, closed nights, rooms out of order, rooms sold."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from qlosync.pms.port import PmsId


def rates(session: Session, hotel_id: PmsId, room_type_id: PmsId, first: date, last: date) -> dict[date, Decimal]:
    raise NotImplementedError("issue 20: being written")


def closed_nights(session: Session, hotel_id: PmsId, room_type_id: PmsId, first: date, last: date) -> set[date]:
    raise NotImplementedError("issue 20: being written")


def rooms_out_of_order(session: Session, hotel_id: PmsId, room_type_id: PmsId, first: date,
                       last: date) -> Counter[date]:
    raise NotImplementedError("issue 20: being written")


def rooms_sold(session: Session, hotel_id: PmsId, room_type_id: PmsId, first: date, last: date) -> Counter[date]:
    raise NotImplementedError("issue 20: being written")
