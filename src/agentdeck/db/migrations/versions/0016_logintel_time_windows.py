"""logintel: the time window of a batch's lines, on the batch and on each anomaly

A batch's span of line timestamps (``first_ts``/``last_ts``) is renamed ``window_start`` and
``window_end`` in place (``ALTER TABLE ... RENAME COLUMN`` on both databases: on SQLite a
rebuilt ``log_batches`` would copy every batch's lines, and dropping the old table would set
its anomalies' ``batch_id`` to null), and the rare batch without one gets opened to closed.
Each anomaly gets its batch's window (one whose batch is gone: the span of its evidence lines,
else its detection time), so a backfill's anomalies say when their lines happened, not only
when they were analysed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import agentdeck.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = agentdeck.db.base.UTCDateTime(timezone=True)
_STAMP = sa.DateTime(timezone=True)  # what batch mode compares (a decorator has no name)

batches = sa.table(
    "log_batches",
    sa.column("id", sa.Uuid()),
    sa.column("opened_at", _UTC),
    sa.column("created_at", _UTC),
    sa.column("window_start", _UTC),
    sa.column("window_end", _UTC),
)
anomalies = sa.table(
    "log_anomalies",
    sa.column("id", sa.Uuid()),
    sa.column("batch_id", sa.Uuid()),
    sa.column("detected_at", _UTC),
    sa.column("evidence_lines", agentdeck.db.base.JSONType),
    sa.column("window_start", _UTC),
    sa.column("window_end", _UTC),
)


def _fill_anomalies_without_batch() -> None:
    """The span of the evidence lines (``[id, ts_ns, ...]``), else the detection time."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(anomalies.c.id, anomalies.c.evidence_lines, anomalies.c.detected_at).where(
            anomalies.c.window_start.is_(None)
        )
    ).all()
    for ident, lines, detected in rows:
        stamps = [int(line[1]) for line in lines or () if len(line) > 1]
        start = datetime.fromtimestamp(min(stamps) / 1e9, UTC) if stamps else detected
        end = datetime.fromtimestamp(max(stamps) / 1e9, UTC) if stamps else detected
        connection.execute(
            sa.update(anomalies)
            .where(anomalies.c.id == ident)
            .values(window_start=start, window_end=end)
        )


def upgrade() -> None:
    op.execute("ALTER TABLE log_batches RENAME COLUMN first_ts TO window_start")
    op.execute("ALTER TABLE log_batches RENAME COLUMN last_ts TO window_end")
    op.execute(
        sa.update(batches)
        .where(batches.c.window_start.is_(None))
        .values(window_start=batches.c.opened_at)
    )
    op.execute(
        sa.update(batches)
        .where(batches.c.window_end.is_(None))
        .values(window_end=batches.c.created_at)
    )

    with op.batch_alter_table("log_anomalies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_start", _UTC, nullable=True))
        batch_op.add_column(sa.Column("window_end", _UTC, nullable=True))
    for column in ("window_start", "window_end"):
        of_batch = (
            sa.select(batches.c[column])
            .where(batches.c.id == anomalies.c.batch_id)
            .scalar_subquery()
        )
        op.execute(
            sa.update(anomalies).where(anomalies.c.batch_id.is_not(None)).values({column: of_batch})
        )
    _fill_anomalies_without_batch()
    with op.batch_alter_table("log_anomalies", schema=None) as batch_op:
        batch_op.alter_column("window_start", existing_type=_STAMP, nullable=False)
        batch_op.alter_column("window_end", existing_type=_STAMP, nullable=False)
        batch_op.create_index(
            "ix_log_anomalies_tenant_window", ["tenant_id", "window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("log_anomalies", schema=None) as batch_op:
        batch_op.drop_index("ix_log_anomalies_tenant_window")
        batch_op.drop_column("window_end")
        batch_op.drop_column("window_start")
    op.execute("ALTER TABLE log_batches RENAME COLUMN window_start TO first_ts")
    op.execute("ALTER TABLE log_batches RENAME COLUMN window_end TO last_ts")
