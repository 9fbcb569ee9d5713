"""nightly full reconciliation: the run trigger ``nightly``

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 11:00:00+00:00

The scheduler's nightly full pull of every enabled shop (``QLOSYNC_FULL_SYNC_AT``) records its run in
``qloapps_sync_state`` with ``kind = full`` and ``trigger = nightly``. Downgrading turns those runs into
plain scheduled ones (``trigger = schedule``), the closest value the older constraint allows.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "qloapps_sync_state"
CONSTRAINT = "ck_qloapps_sync_state_trigger"


def upgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), TABLE, type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), TABLE, "trigger IN ('schedule', 'manual', 'fallback', 'nightly')")


def downgrade() -> None:
    op.execute(f"UPDATE {TABLE} SET trigger = 'schedule' WHERE trigger = 'nightly'")
    op.drop_constraint(op.f(CONSTRAINT), TABLE, type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), TABLE, "trigger IN ('schedule', 'manual', 'fallback')")
