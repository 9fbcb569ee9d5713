"""To delete once qlosync.sync.inbound.apply queues pushes through the port (``open_pms(session).changes``).

What the ``pms_outbox`` table did here is the built-in PMS's change feed now
(:mod:`qlosync.pms.builtin.changes`, reached as ``open_pms(session).changes``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from qlosync.pms import open_pms


def request_push(session: Session, reservation_id: object, reason: str) -> None:
    open_pms(session).changes.request_push(str(reservation_id), reason)
