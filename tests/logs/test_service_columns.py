"""The ingest service's hooks with columnar batches: processors see records, listeners columns."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from agentdeck.logs.ingest.decoders import json_batch
from agentdeck.logs.ingest.service import LogIngestor
from agentdeck.logs.metrics import LogMetrics
from agentdeck.logstore.base import LogColumns, LogRecord
from agentdeck.logstore.duckdb import DuckDBLogStore
from agentdeck.logstore.logql import parse
from agentdeck.settings import LogsSettings


async def test_processors_change_what_is_stored_and_listeners_get_columns(
    tmp_path: Path,
) -> None:
    tenant = uuid.uuid4()
    now = time.time_ns()
    body = orjson.dumps(
        {
            "entries": [
                {"timestamp": now - 2, "severity": "warn", "service": "api", "message": "a"},
                {"severity": "INFO", "service": "api", "message": "bad", "timestamp": "x"},
                {"timestamp": now - 1, "severity": "ERROR", "service": "db", "message": "b"},
            ]
        }
    )
    seen: list[list[str]] = []
    heard: list[LogColumns] = []

    def processor(tenant_id: uuid.UUID, records: Sequence[LogRecord]) -> list[LogRecord]:
        assert tenant_id == tenant
        seen.append([r.message for r in records])
        return [dataclasses.replace(r, template_id=len(r.service)) for r in records]

    async with DuckDBLogStore(tmp_path / "logs.duckdb") as store:
        ingestor = LogIngestor(
            store=store, settings=LogsSettings(), metrics=LogMetrics(CollectorRegistry())
        )
        ingestor.add_processor(processor)
        ingestor.add_listener(lambda tenant_id, batch: heard.append(batch))
        result = await ingestor.ingest(
            tenant_id=tenant, decoded=json_batch.decode(body), path="batch"
        )
        page = await store.search(
            tenant, parse(""), start_ns=0, end_ns=now + 1, limit=10, direction="forward"
        )
    assert (result.accepted, [e.index for e in result.errors]) == (2, [1])
    assert seen == [["a", "b"]]
    assert [(r.message, r.severity, r.template_id) for r in page.records] == [
        ("a", "WARNING", 3),
        ("b", "ERROR", 2),
    ]
    assert len(heard) == 1 and heard[0].records() == list(page.records)
