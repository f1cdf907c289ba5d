"""autoscaler decisions, GitHub webhook secrets and deliveries

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import agentdeck.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_deliveries",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("received_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_github_deliveries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "delivery_id", name=op.f("pk_github_deliveries")),
    )
    with op.batch_alter_table("github_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_github_deliveries_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "github_webhook_secrets",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("previous_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "previous_valid_until", agentdeck.db.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("rotated_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_github_webhook_secrets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_github_webhook_secrets")),
    )
    op.create_table(
        "autoscaler_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("cpu_percent", sa.Double(), nullable=True),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("target_replicas", sa.Integer(), nullable=False),
        sa.Column("min_replicas", sa.Integer(), nullable=False),
        sa.Column("max_replicas", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_autoscaler_decisions_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autoscaler_decisions")),
    )
    with op.batch_alter_table("autoscaler_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_autoscaler_decisions_agent_at", ["agent_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_autoscaler_decisions_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("autoscaler_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autoscaler_decisions_tenant_id"))
        batch_op.drop_index("ix_autoscaler_decisions_agent_at")

    op.drop_table("autoscaler_decisions")
    op.drop_table("github_webhook_secrets")
    with op.batch_alter_table("github_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_github_deliveries_received_at"))

    op.drop_table("github_deliveries")
