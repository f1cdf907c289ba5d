"""The embedded store's file: ids of every shape round-trip, and a file of the first schema
(ids as text) opens with all its lines."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import orjson

from agentdeck.logstore.base import LogQuery, LogRecord, RecordIds, Severity
from agentdeck.logstore.duckdb import DuckDBLogStore
from agentdeck.logstore.logql import parse

SECOND = 1_000_000_000
T0 = 1_717_372_800 * SECOND
END = T0 + 10**12

# The store's table as schema 1 made it.
SCHEMA_1 = """
CREATE TABLE log_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO log_meta VALUES ('schema_version', '1');
CREATE TABLE logs (
    tenant_id UUID NOT NULL, ts_ns BIGINT NOT NULL, id VARCHAR NOT NULL USING COMPRESSION zstd,
    service VARCHAR NOT NULL, severity UTINYINT NOT NULL, agent VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL,
    message VARCHAR NOT NULL USING COMPRESSION zstd, labels VARCHAR NOT NULL,
    truncated BOOLEAN NOT NULL, template_id BIGINT, observed_ns BIGINT NOT NULL
);
"""


def mixed_lines(tenant: uuid.UUID) -> list[LogRecord]:
    """Lines whose ids take every shape: the store's own, foreign text, upper-case hex, the
    store's shape with another time's digits, and equal times ordered by id alone; trace and
    span ids of every shape too."""
    ids = RecordIds(node=0xABCDEF01)
    out = []
    for i in range(50):
        ts = T0 + i * 1_000_000 + (i % 3)
        out.append(
            LogRecord(
                id=ids.next(ts),
                tenant_id=tenant,
                ts_ns=ts,
                service="api" if i % 2 else "worker",
                severity=Severity.ERROR if i % 5 == 0 else Severity.INFO,
                message=f"line {i} request_id={i:08x}",
                agent=f"api-{i % 3}",
                labels={"env": "prod", "region": "eu"} if i % 4 else {},
                trace_id=f"{i:032x}" if i % 10 == 0 else "",
                span_id=f"{i:016x}" if i % 10 == 0 else "",
                truncated=i == 7,
                template_id=i if i % 6 == 0 else None,
                observed_ns=ts + 5,
            )
        )
    tie = T0 + 60 * SECOND
    odd_ids = (
        "custom-1",
        "0" * 26,
        "ABCDEF0123456789ABCDEF0123",
        ids.next(T0),  # the store's shape, but another millisecond than its line's
        "z",
        ids.next(tie),
    )
    for k, rid in enumerate(odd_ids):
        out.append(
            LogRecord(
                id=rid,
                tenant_id=tenant,
                ts_ns=tie if k else 0,
                service="api",
                severity=Severity.WARNING,
                message=f"tie {k}",
                # Trace and span ids of any text, or one without the other.
                # (a span id that starts with a combining accent: lengths in code points)
                trace_id=("é-trace", "", "t" * 40, "a")[k % 4],
                span_id=("spän", "only-a-span", "", "\u0301x")[k % 4],
            )
        )
    return out


def write_schema_1(path: Path, records: list[LogRecord]) -> None:
    codes = {severity: code for code, severity in enumerate(Severity)}
    con = duckdb.connect(str(path))
    con.execute(SCHEMA_1)
    con.executemany(
        "INSERT INTO logs VALUES (?::UUID, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                str(r.tenant_id),
                r.ts_ns,
                r.id,
                r.service,
                codes[r.severity],
                r.agent,
                r.trace_id,
                r.span_id,
                r.message,
                orjson.dumps(dict(r.labels), option=orjson.OPT_SORT_KEYS).decode()
                if r.labels
                else "{}",
                r.truncated,
                r.template_id,
                r.observed_ns,
            )
            for r in records
        ],
    )
    con.close()


def in_order(records: list[LogRecord]) -> list[LogRecord]:
    return sorted(records, key=lambda r: (r.ts_ns, r.id))


async def all_lines(store: DuckDBLogStore, tenant: uuid.UUID, page: int) -> list[LogRecord]:
    """Every line, oldest first, in pages of ``page`` (cursors across equal times)."""
    found: list[LogRecord] = []
    cursor = None
    while True:
        result = await store.search(
            tenant,
            LogQuery(),
            start_ns=0,
            end_ns=END,
            limit=page,
            direction="forward",
            cursor=cursor,
        )
        found.extend(result.records)
        if result.next_cursor is None:
            return found
        cursor = result.next_cursor


async def assert_everything_readable(
    store: DuckDBLogStore, tenant: uuid.UUID, records: list[LogRecord]
) -> None:
    assert await all_lines(store, tenant, 4) == in_order(records)
    for record in records:
        assert await store.get(tenant, record.id) == record
    errors = await store.search(
        tenant, parse('{service="worker"} |= "line"'), start_ns=T0, end_ns=END, limit=100
    )
    expected = [r for r in records if r.service == "worker"]
    assert errors.records == in_order(expected)[::-1]
    for field in ("trace_id", "span_id"):
        for value in {getattr(r, field) for r in records} - {""}:
            page = await store.search(
                tenant, parse(f'{{{field}="{value}"}}'), start_ns=0, end_ns=END, limit=100
            )
            assert (
                page.records == in_order([r for r in records if getattr(r, field) == value])[::-1]
            )
        values = await store.label_values(tenant, field, start_ns=0, end_ns=END, limit=100)
        assert values == sorted({getattr(r, field) for r in records} - {""})
    names = await store.label_names(tenant, start_ns=0, end_ns=END)
    assert {"trace_id", "span_id"} <= set(names)


async def test_ids_of_every_shape_round_trip(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    records = mixed_lines(tenant)
    async with DuckDBLogStore(tmp_path / "logs.duckdb") as store:
        await store.write(records)
        await assert_everything_readable(store, tenant, records)
        assert await store.get(tenant, "custom-2") is None
        assert await store.get(tenant, RecordIds().next(T0)) is None


async def test_a_schema_1_file_opens_with_all_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    tenant = uuid.uuid4()
    records = mixed_lines(tenant)
    write_schema_1(path, records)
    async with DuckDBLogStore(path) as store:
        await assert_everything_readable(store, tenant, records)
        newer = [
            LogRecord(
                id=RecordIds().next(T0 + 2 * SECOND),
                tenant_id=tenant,
                ts_ns=T0 + 2 * SECOND,
                service="api",
                severity=Severity.INFO,
                message="after the upgrade",
            )
        ]
        await store.write(newer)
    async with DuckDBLogStore(path) as store:  # opens again, nothing left to migrate
        await assert_everything_readable(store, tenant, records + newer)
    con = duckdb.connect(str(path), read_only=True)
    try:
        version = con.execute("SELECT value FROM log_meta WHERE key = 'schema_version'").fetchall()
        stored_as_text = con.execute("SELECT count(*) FROM logs WHERE id_text IS NOT NULL")
        assert version == [("2",)]
        # The five ids not of the store's own shape (or time) stay text; the rest are numbers.
        assert stored_as_text.fetchall() == [(5,)]
    finally:
        con.close()
    assert os.listdir(tmp_path) == ["logs.duckdb"]  # no copy left
