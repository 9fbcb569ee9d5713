"""The one writer of PMS reservations for inbound sync: a page of creates and overwrites in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from qlosync.pms.port import PmsId, PmsState, ReservationWrite


def write_reservations(session: Session, hotel_id: PmsId, writes: Sequence[ReservationWrite]) -> list[PmsState]:
    raise NotImplementedError("issue 20: being written")
