"""The PMS's own QloApps settings page, kept current: it shows ``public.qloapps_config``'s
``last_successful_sync`` and ``last_sync_error``, which the TypeScript workers used to write after each sync.

qlosync writes the same two columns after each pull of a shop bound to that hotel (the adapter's
``Pms.report_sync``), and nothing else of that row: the settings it holds were adopted once (``qlosync adopt``)
and are qlosync's own from then on.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from qlosync.pms.port import PmsId

#: The column is text; a page shows a line, not a traceback.
ERROR_LENGTH = 1000


def report_sync(session: Session, hotel_id: PmsId, *, succeeded: bool, error: str | None) -> None:
    """Record how the hotel's last pull ended: succeeded (now, no error) or not (its error; the last success
    stays). A hotel without a settings row is left alone: the PMS's page has nothing to show for it."""
    session.execute(text(
        "UPDATE public.qloapps_config SET "
        "  last_successful_sync = CASE WHEN :succeeded THEN now() ELSE last_successful_sync END, "
        "  last_sync_error = :error, updated_at = now() "
        "WHERE hotel_id::text = :hotel_id"),
        {"succeeded": succeeded, "error": None if succeeded else (error or "failed")[:ERROR_LENGTH],
         "hotel_id": hotel_id})
