"""The content hash of a PMS reservation (:class:`qlosync.pms.port.PmsState`), as both directions compare it.

The hash covers exactly what a push sends; inbound sync stores it after applying a QloApps booking, so a
reservation that came from QloApps is never pushed back unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from qlosync.pms.port import PmsState

#: What a push does not send: the line's id, and its tax (QloApps computes its own).
_NOT_SENT = ("id", "tax")
#: The fields of a line that name PMS rows (room type, room): see :func:`_stored_form`.
_ID_FIELDS = ("room_type_id", "room_id")


def _stored_form(pms_id: str | None) -> Any:
    """An id as the hashes stored before PMS ids became text wrote it.

    Those hashes wrote the built-in PMS's integer ids as JSON numbers. A hash must not move just because the
    id's Python type did (an upgraded deployment would see every synced reservation as changed in the PMS, and
    its QloApps changes as conflicts), so an id written the way an integer is written is hashed as that number;
    every other id, whatever the PMS, as text. Nothing else is read into the id.
    """
    if pms_id is not None and pms_id.isascii() and pms_id.isdigit() and (pms_id == "0" or pms_id[0] != "0"):
        return int(pms_id)
    return pms_id


def pms_state_hash(state: PmsState) -> str:
    """SHA-256 of what a push would send: status, guest details and lines (line and guest ids left out)."""
    lines = []
    for line in state.lines:
        fields = {k: v for k, v in asdict(line).items() if k not in _NOT_SENT}
        fields.update({k: _stored_form(fields[k]) for k in _ID_FIELDS})
        lines.append(json.dumps(fields, sort_keys=True, default=str))
    document = {
        "status": state.status,
        "guest": {k: v for k, v in asdict(state.guest).items() if k != "id"},
        "lines": sorted(lines),
    }
    encoded = json.dumps(document, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()
