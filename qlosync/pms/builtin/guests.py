"""The built-in PMS's guests, for matching: candidates by id, e-mail or phone; creating and updating them."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy.orm import Session

from qlosync.pms.port import Guest, PmsId


def guests_matching(session: Session, hotel_id: PmsId, ids: Collection[PmsId], emails: Collection[str],
                    phones: Collection[str]) -> list[Guest]:
    raise NotImplementedError("issue 20: being written")


def save_guests(session: Session, hotel_id: PmsId, guests: Sequence[Guest]) -> None:
    raise NotImplementedError("issue 20: being written")
