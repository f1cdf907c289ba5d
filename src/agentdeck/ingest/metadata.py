"""Metric metadata (type, unit, help per family) written beside the samples that carry it."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.db.base import utcnow
from agentdeck.ingest.batch import MetricMeta
from agentdeck.ingest.models import MetricMetadata, MetricType
from agentdeck.tsdb.names import is_valid_metric_name


class MetadataCache:
    """The metadata rows this process wrote last, per (tenant, name): unchanged metadata is
    not written again."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self.rows: dict[tuple[UUID, str], tuple[str, str, str]] = {}


async def upsert_metadata(
    cache: MetadataCache,
    session: AsyncSession,
    tenant_id: UUID,
    metadata: Sequence[MetricMeta],
    *,
    max_name: int,
) -> None:
    """Insert or update the tenant's metric metadata rows that changed (no commit); names
    that are invalid or longer than ``max_name`` have no series and get no row."""
    latest: dict[str, MetricMeta] = {}
    for meta in metadata:
        if len(meta.name) <= max_name and is_valid_metric_name(meta.name):
            try:
                kind = MetricType(meta.type)
            except ValueError:
                kind = MetricType.unknown
            latest[meta.name] = MetricMeta(meta.name, kind, meta.unit, meta.help)
    changed = [
        m
        for m in latest.values()
        if cache.rows.get((tenant_id, m.name)) != (m.type.value, m.unit, m.help)
    ]
    if not changed:
        return
    if len(cache.rows) > cache.size:
        cache.rows.clear()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        {
            "tenant_id": tenant_id,
            "name": m.name,
            "type": m.type,
            "unit": m.unit[:64],
            "help": m.help[:1024],
            "updated_at": utcnow(),
        }
        for m in changed
    ]
    stmt = insert(MetricMetadata).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[MetricMetadata.tenant_id, MetricMetadata.name],
        set_={
            "type": stmt.excluded.type,
            "unit": stmt.excluded.unit,
            "help": stmt.excluded.help,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await session.execute(stmt)
    for m in changed:
        cache.rows[(tenant_id, m.name)] = (m.type.value, m.unit, m.help)
