"""The built-in PMS's change capture: triggers write ``pms_outbox``; the feed claims and marks its rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from qlosync.pms.port import Backlog, CapturedChange, PmsId


class OutboxFeed:
    channel: str = "qlosync_outbox"

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, limit: int) -> list[CapturedChange]:
        raise NotImplementedError("issue 20: being written")

    def mark_published(self, row_ids: Sequence[int]) -> None:
        raise NotImplementedError("issue 20: being written")

    def backlog(self) -> Backlog:
        raise NotImplementedError("issue 20: being written")

    def request_push(self, reservation_id: PmsId, reason: str) -> None:
        raise NotImplementedError("issue 20: being written")


def mark_sync_writes(session: Session) -> None:
    raise NotImplementedError("issue 20: being written")


def install(session: Session) -> None:
    raise NotImplementedError("issue 20: being written")


def remove(session: Session) -> None:
    raise NotImplementedError("issue 20: being written")
