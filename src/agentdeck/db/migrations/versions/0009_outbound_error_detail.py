"""outbound policy: the admins' cause of a failed scrape and of a failed delivery

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scrape_targets") as batch:
        batch.add_column(sa.Column("last_error_detail", sa.String(length=1024), nullable=True))
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.add_column(sa.Column("error_detail", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.drop_column("error_detail")
    with op.batch_alter_table("scrape_targets") as batch:
        batch.drop_column("last_error_detail")
