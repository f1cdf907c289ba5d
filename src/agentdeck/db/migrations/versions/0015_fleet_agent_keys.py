"""fleet: an agent's telemetry key (api_keys.agent_id)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_keys_agent_id"), ["agent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_agent_id_agents"),
            "agents",
            ["agent_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_keys_agent_id_agents"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_keys_agent_id"))
        batch_op.drop_column("agent_id")
