"""An index on the reservation mappings by shop and QloApps date_upd

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:00:00+00:00

An incremental pull reads, in its first transaction, the versions applied of the orders its overlap re-reads
(``config_id = :shop AND qloapps_date_upd >= :since``): a few rows, found through this index instead of every
mapping of the shop (issue 22 item 4).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_qloapps_reservation_mappings_date_upd", "qloapps_reservation_mappings",
                    ["config_id", "qloapps_date_upd"])


def downgrade() -> None:
    op.drop_index("ix_qloapps_reservation_mappings_date_upd", table_name="qloapps_reservation_mappings")
