"""The customer's e-mail as the last push read it back, on the customer mapping

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 23:45:00+00:00

A push that updates a booking whose QloApps customer qlosync created for this same guest sends the PMS
guest's name anyway; what it needs of QloApps is only the customer's e-mail (a PUT must carry an existing
customer's, B23). Kept from the read-back of the push before, it saves the customer GET of every update
(issue 22 item 6). Empty for existing rows: their next push reads the customer as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("qloapps_customer_mappings", sa.Column("qloapps_email", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("qloapps_customer_mappings", "qloapps_email")
