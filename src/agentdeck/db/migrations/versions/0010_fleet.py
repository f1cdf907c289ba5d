"""fleet: workloads, observed replicas, deployments; agents' ready replicas and status detail

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import agentdeck.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("active_agent_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "workload_spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("spec_hash", sa.String(length=32), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column(
            "strategy",
            sa.Enum("rolling", "recreate", name="fleet_strategy", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "previous_spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("previous_version", sa.String(length=64), nullable=True),
        sa.Column(
            "previous_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("previous_replicas", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_progress",
                "completed",
                "failed",
                "rolled_back",
                name="deployment_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "phase",
            sa.Enum(
                "rolling_out",
                "rolling_back",
                "done",
                name="deployment_phase",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("deadline_seconds", sa.Double(), nullable=False),
        sa.Column("max_error_rate", sa.Double(), nullable=True),
        sa.Column("triggered_by_kind", sa.String(length=16), nullable=False),
        sa.Column("triggered_by_id", sa.String(length=64), nullable=True),
        sa.Column("triggered_by_name", sa.String(length=200), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("rollback_of", sa.Uuid(), nullable=True),
        sa.Column("error", sa.String(length=4000), nullable=True),
        sa.Column(
            "progress",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_cursor", sa.String(length=64), nullable=False),
        sa.Column("created_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_deployments_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("active_agent_id", name=op.f("uq_deployments_active_agent_id")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployments_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_deployments_tenant_created", ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deployments_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "fleet_replicas",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("spec_hash", sa.String(length=32), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pod", sa.String(length=253), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("started_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("last_exit_code", sa.Integer(), nullable=True),
        sa.Column("last_exit_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_exit_reason", sa.String(length=500), nullable=True),
        sa.Column("message", sa.String(length=4000), nullable=True),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("observed_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_fleet_replicas_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "name", name=op.f("pk_fleet_replicas")),
    )
    with op.batch_alter_table("fleet_replicas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fleet_replicas_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "fleet_workloads",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column(
            "strategy",
            sa.Enum("rolling", "recreate", name="fleet_strategy", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("spec_hash", sa.String(length=32), nullable=False),
        sa.Column("restart_generation", sa.Integer(), nullable=False),
        sa.Column(
            "transition",
            sa.Enum("deploying", "scaling", name="fleet_transition", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("deployment_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", agentdeck.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_fleet_workloads_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_fleet_workloads")),
    )
    with op.batch_alter_table("fleet_workloads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fleet_workloads_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ready_replicas", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("status_detail", sa.String(length=4000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("status_detail")
        batch_op.drop_column("ready_replicas")

    with op.batch_alter_table("fleet_workloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fleet_workloads_tenant_id"))

    op.drop_table("fleet_workloads")
    with op.batch_alter_table("fleet_replicas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fleet_replicas_tenant_id"))

    op.drop_table("fleet_replicas")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployments_tenant_id"))
        batch_op.drop_index("ix_deployments_tenant_created")
        batch_op.drop_index(batch_op.f("ix_deployments_status"))
        batch_op.drop_index(batch_op.f("ix_deployments_agent_id"))

    op.drop_table("deployments")
