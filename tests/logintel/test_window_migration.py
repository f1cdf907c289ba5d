"""Migration 0016 gives the batches and anomalies stored before it their time window: a batch's
span of line timestamps keeps its values under its new name (a batch without one: opened to
closed), an anomaly takes its batch's window, or without a batch the span of its evidence
lines, or its detection time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from agentdeck.db.base import JSONType, UTCDateTime
from agentdeck.db.engine import create_engine
from agentdeck.db.migrate import upgrade
from agentdeck.settings import DatabaseSettings
from tests.conftest import PG_ADMIN_URL

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # the lines happened at 08:00-08:05
ANALYSED = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # ...and were analysed at 11:00
_meta = sa.MetaData()


def _table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table(name, _meta, sa.Column("id", sa.Uuid(), primary_key=True), *columns)


tenants = _table(
    "tenants",
    sa.Column("slug", sa.String()),
    sa.Column("name", sa.String()),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime()),
)
streams = _table(
    "log_streams",
    sa.Column("tenant_id", sa.Uuid()),
    sa.Column("name", sa.String()),
    sa.Column("services", JSONType),
    sa.Column("severity_filter", JSONType),
    sa.Column("batch_size", sa.Integer()),
    sa.Column("batch_timeout_seconds", sa.Integer()),
    sa.Column("active", sa.Boolean()),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("lines_total", sa.BigInteger()),
    sa.Column("batches_total", sa.Integer()),
    sa.Column("anomalies_total", sa.Integer()),
)
batches = _table(
    "log_batches",
    *(sa.Column(n, sa.Uuid()) for n in ("tenant_id", "stream_id")),
    *(sa.Column(n, sa.String()) for n in ("status", "closed_by", "error")),
    *(sa.Column(n, UTCDateTime()) for n in ("opened_at", "created_at", "first_ts", "last_ts")),
    *(
        sa.Column(n, sa.Integer())
        for n in ("total", "errors", "warnings", "anomalies", "prompt_tokens", "completion_tokens")
    ),
    sa.Column("error_rate", sa.Double()),
    *(sa.Column(n, JSONType) for n in ("by_service", "by_severity", "lines")),
)
anomalies = _table(
    "log_anomalies",
    *(sa.Column(n, sa.Uuid()) for n in ("tenant_id", "batch_id")),
    *(
        sa.Column(n, sa.String())
        for n in (
            "stream_name",
            "anomaly_type",
            "severity",
            "service",
            "description",
            "detector",
            "explanation",
            "fingerprint",
        )
    ),
    sa.Column("confidence", sa.Double()),
    *(
        sa.Column(n, JSONType)
        for n in (
            "recommended_actions",
            "evidence_line_ids",
            "evidence_template_ids",
            "evidence_lines",
        )
    ),
    *(sa.Column(n, sa.Integer()) for n in ("evidence_count", "prompt_tokens", "completion_tokens")),
    sa.Column("detected_at", UTCDateTime()),
)


@pytest.fixture
async def empty_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
        return
    name = f"agentdeck_window_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    async with admin.connect() as connection:
        await connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


async def _populate(connection: AsyncConnection) -> dict[str, uuid.UUID]:
    ids = {k: uuid.uuid4() for k in ("t", "s", "b", "b_open", "a", "a_lines", "a_bare")}
    await connection.execute(
        sa.insert(tenants).values(
            id=ids["t"], slug="acme", name="Acme", created_at=T0, updated_at=T0
        )
    )
    await connection.execute(
        sa.insert(streams).values(
            id=ids["s"],
            tenant_id=ids["t"],
            name="main",
            services=[],
            severity_filter=["ERROR"],
            batch_size=100,
            batch_timeout_seconds=300,
            active=True,
            created_at=T0,
            lines_total=0,
            batches_total=2,
            anomalies_total=3,
        )
    )
    batch: dict[str, Any] = {
        "tenant_id": ids["t"],
        "stream_id": ids["s"],
        "status": "completed",
        "closed_by": "size",
        "error": "",
        "total": 1,
        "errors": 1,
        "warnings": 0,
        "anomalies": 1,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "error_rate": 1.0,
        "by_service": {},
        "by_severity": {},
        "lines": [],
        "opened_at": ANALYSED - timedelta(minutes=9),
        "created_at": ANALYSED - timedelta(minutes=4),
    }
    await connection.execute(
        sa.insert(batches).values(
            id=ids["b"], first_ts=T0, last_ts=T0 + timedelta(minutes=5), **batch
        )
    )
    await connection.execute(
        sa.insert(batches).values(id=ids["b_open"], first_ts=None, last_ts=None, **batch)
    )
    anomaly: dict[str, Any] = {
        "tenant_id": ids["t"],
        "stream_name": "main",
        "anomaly_type": "error_spike",
        "severity": "high",
        "service": "checkout",
        "description": "High error rate",
        "detector": "error_spike",
        "explanation": "",
        "fingerprint": "f",
        "confidence": 0.8,
        "recommended_actions": [],
        "evidence_line_ids": [],
        "evidence_template_ids": [],
        "evidence_count": 2,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "detected_at": ANALYSED,
    }
    lines = [
        ["l2", _ns(T0 + timedelta(minutes=3)), "checkout", "ERROR", "boom", "", None],
        ["l1", _ns(T0 + timedelta(minutes=1)), "checkout", "ERROR", "boom", "", None],
    ]
    await connection.execute(
        sa.insert(anomalies).values(id=ids["a"], batch_id=ids["b"], evidence_lines=[], **anomaly)
    )
    await connection.execute(
        sa.insert(anomalies).values(
            id=ids["a_lines"], batch_id=None, evidence_lines=lines, **anomaly
        )
    )
    await connection.execute(
        sa.insert(anomalies).values(id=ids["a_bare"], batch_id=None, evidence_lines=[], **anomaly)
    )
    return ids


async def test_stored_batches_and_anomalies_get_their_window(empty_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=empty_url))
    try:
        await upgrade(engine, "0015")
        async with engine.begin() as connection:
            ids = await _populate(connection)
        await upgrade(engine)
        async with engine.connect() as connection:

            async def windows(name: str) -> dict[uuid.UUID, tuple[datetime, datetime]]:
                table = sa.table(
                    name,
                    sa.column("id", sa.Uuid()),
                    sa.column("window_start", UTCDateTime()),
                    sa.column("window_end", UTCDateTime()),
                )
                rows = await connection.execute(
                    sa.select(table.c.id, table.c.window_start, table.c.window_end)
                )
                return {row[0]: (row[1], row[2]) for row in rows}

            of_batches = await windows("log_batches")
            of_anomalies = await windows("log_anomalies")
            linked = await connection.scalar(
                sa.select(anomalies.c.batch_id).where(anomalies.c.id == ids["a"])
            )
    finally:
        await engine.dispose()
    assert of_batches[ids["b"]] == (T0, T0 + timedelta(minutes=5))
    assert of_batches[ids["b_open"]] == (
        ANALYSED - timedelta(minutes=9),
        ANALYSED - timedelta(minutes=4),
    )
    assert of_anomalies[ids["a"]] == (T0, T0 + timedelta(minutes=5))
    assert linked == ids["b"]  # the anomaly still points at its batch
    assert of_anomalies[ids["a_lines"]] == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    assert of_anomalies[ids["a_bare"]] == (ANALYSED, ANALYSED)
