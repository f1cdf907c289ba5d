"""The embedded log store's bytes per line, column by column: schema 1 (ids, trace and span
ids as text) beside the store's schema, on the same lines.

Workload: ``--lines`` lines of the log benchmarks' generator (``bench/_logs_data.py``) over
24 h, as the Arrow tables the store inserts (``arrow_columns``, inserts of 10,000 lines),
loaded into an in-memory table of each schema. Each column is then copied alone into a fresh
file with its type and compression clause, checkpointed, and its used blocks counted, less
those of a file holding one constant column (the fixed cost of a table). A block is 256 KiB,
so each figure is ±256 KiB / lines (±0.26 B at 1 M lines). The whole store file (every
column, after a checkpoint) is measured too, as the store writes it: through ``write``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.logstore._duckdb_sql import INSERT_SQL, LOGS_COLUMNS, arrow_columns
from agentdeck.logstore.base import LogColumns
from agentdeck.logstore.duckdb import DuckDBLogStore
from bench import Figure, machine
from bench._logs_data import generate

T0 = 1_717_372_800 * 1_000_000_000
DAY = 24 * 3600 * 1_000_000_000
# The store's table as schema 1 made it.
SCHEMA_1 = """(
    tenant_id UUID NOT NULL,
    ts_ns BIGINT NOT NULL,
    id VARCHAR NOT NULL USING COMPRESSION zstd,
    service VARCHAR NOT NULL,
    severity UTINYINT NOT NULL,
    agent VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    message VARCHAR NOT NULL USING COMPRESSION zstd,
    labels VARCHAR NOT NULL,
    truncated BOOLEAN NOT NULL,
    template_id BIGINT,
    observed_ns BIGINT NOT NULL
)"""
INSERT_1 = (
    "CAST(tenant_id AS UUID), ts_ns, id, service, severity, agent, trace_id, span_id, message, "
    "labels, truncated, template_id, observed_ns"
)
_COLUMN = re.compile(r"^\s*(\w+) (.+?),?$", re.MULTILINE)


def _used(con: duckdb.DuckDBPyConnection, database: str) -> int:
    row = con.execute(
        "SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = ?",
        [database],
    ).fetchone()
    return int(row[0]) if row else 0


def column_bytes(
    directory: Path, tables: list[pa.Table], schema: str, project: str
) -> dict[str, int]:
    """Bytes of each column of ``schema`` (its lines from ``tables`` through ``project``)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE logs {schema}")
    for table in tables:
        con.from_arrow(table).project(project).insert_into("logs")
    sizes: dict[str, int] = {}
    columns = [("(fixed cost)", "TINYINT", "0"), *((n, d, n) for n, d in _COLUMN.findall(schema))]
    for name, declared, value in columns:
        path = directory / "column.duckdb"
        for suffix in ("", ".wal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        con.execute(f"ATTACH '{path}' AS f")
        con.execute(f"CREATE TABLE f.t (c {declared})")
        con.execute(f"INSERT INTO f.t SELECT {value} FROM logs")
        con.execute("CHECKPOINT f")
        sizes[name] = _used(con, "f")
        con.execute("DETACH f")
    con.close()
    fixed = sizes.pop("(fixed cost)")
    return {name: size - fixed for name, size in sizes.items()}


async def store_file(directory: Path, tables: list[pa.Table], batches: list[LogColumns]) -> int:
    """The size of the store's file (and write-ahead log) after its writes and a checkpoint."""
    path = directory / "store.duckdb"
    async with DuckDBLogStore(path) as store:
        for batch in batches:
            await store.write_columns(batch)
        await store.checkpoint()
        return store.disk_bytes()


def run(lines: int) -> list[Figure]:
    tenant = uuid.uuid4()
    batches = [
        LogColumns.of(tenant, chunk)
        for chunk in generate(lines, tenant_id=tenant, start_ns=T0, end_ns=T0 + DAY, chunk=10_000)
    ]
    cache: dict[tuple[tuple[str, str], ...], str] = {}
    tables = [arrow_columns(b, cache) for b in batches]
    print(f"log store columns: {lines:,} lines; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-logs-columns-") as tmp:
        directory = Path(tmp)
        before = column_bytes(directory, tables, SCHEMA_1, INSERT_1)
        after = column_bytes(directory, tables, LOGS_COLUMNS, INSERT_SQL)
        whole = asyncio.run(store_file(directory, tables, batches))
    print(f"  {'schema 1':>28} {'the store':>10}  (bytes/line)")
    for name in dict.fromkeys([*before, *after]):
        old = f"{before[name] / lines:.2f}" if name in before else "—"
        new = f"{after[name] / lines:.2f}" if name in after else "—"
        print(f"  {name:16} {old:>11} {new:>10}")
    total_1, total = sum(before.values()) / lines, sum(after.values()) / lines
    print(f"  {'columns':16} {total_1:>11.2f} {total:>10.2f}")
    print(f"  the store's file after a checkpoint: {whole / lines:.2f} bytes/line")
    print(f"  load average after: {os.getloadavg()[0]:.1f}")
    return [
        Figure(
            "log store bytes per line, DuckDB file",
            whole / lines,
            "B",
            40,
            reference=total_1,
            lower_is_better=True,
        )
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(machine())
    figures = run(args.lines)
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
