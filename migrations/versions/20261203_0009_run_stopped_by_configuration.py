"""a run stopped by its shop's configuration says so in a column

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:00:00+00:00

The scheduler skipped a shop whose latest run had failed on its configuration by matching the end of the run's
error text. ``qloapps_sync_state.stopped_by_configuration`` now carries that fact; existing runs whose error ends
with the explanation get it set, so a shop paused before the upgrade stays paused.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the explanation qlosync appended to such errors (sync.inbound.runs.CONFIGURATION_PAUSE).
PAUSE_SUFFIX = " (no scheduled pulls until the shop's configuration changes: qlosync config set / shops set)"


def upgrade() -> None:
    op.add_column("qloapps_sync_state", sa.Column("stopped_by_configuration", sa.Boolean(),
                                                   server_default=sa.text("false"), nullable=False))
    op.execute(sa.text("UPDATE qloapps_sync_state SET stopped_by_configuration = true "
                       "WHERE status = 'failed' AND right(error, :n) = :suffix")
               .bindparams(n=len(PAUSE_SUFFIX), suffix=PAUSE_SUFFIX))


def downgrade() -> None:
    op.drop_column("qloapps_sync_state", "stopped_by_configuration")
