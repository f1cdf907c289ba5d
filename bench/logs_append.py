"""The embedded log store's insert path and column compression, measured in one process.

Workload: ``--lines`` lines of the log benchmarks' generator (``bench/_logs_data.py``), made
into the Arrow tables the store inserts (``arrow_columns``) before any clock starts, in
inserts of ``--insert`` lines (the size of a group commit under the HTTP bench's 4 clients).

* insert paths, process CPU per line (all threads: DuckDB's included), best of ``--repeat``,
  each into a fresh file with the store's schema:
  - **reference**: ``from_arrow(table).insert_into`` of the same Arrow table into a table of
    the same columns with the tenant already a UUID (the cheapest way DuckDB takes rows from
    Python);
  - the store's statement (``from_arrow(...).project(CAST(tenant_id AS UUID), ...)``);
  - ``INSERT INTO logs SELECT ... FROM`` a registered Arrow table;
  - ``executemany`` of row tuples (on ``--rows-executemany`` lines only: it is that slow);
  - the whole store: ``DuckDBLogStore.write_columns`` (building the Arrow table from columns,
    the group commit, the insert), its ratio to the reference printed.
* compression: the same lines into tables that differ only in how ``message`` is stored
  (DuckDB's own choice, zstd, dictionary+FSST, FSST, dictionary, and a template/parameters
  split: digit and hex runs cut out into a second column), bytes per line of the file after a
  checkpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.db.threads import duckdb_disk_bytes
from agentdeck.logstore._duckdb_sql import INSERT_SQL, SCHEMA, arrow_columns
from agentdeck.logstore.base import LogColumns
from agentdeck.logstore.duckdb import CHECKPOINT_WAL, DuckDBLogStore
from bench import Figure, machine
from bench._logs_data import generate

T0 = 1_717_372_800 * 1_000_000_000
PROJECT = INSERT_SQL
_VARIABLE = re.compile(r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*")


def _batches(lines: int, size: int) -> tuple[uuid.UUID, list[LogColumns]]:
    tenant = uuid.uuid4()
    out = []
    for records in generate(lines, tenant_id=tenant, start_ns=T0, end_ns=T0 + 3600 * 10**9):
        for i in range(0, len(records), size):
            out.append(LogColumns.of(tenant, records[i : i + size]))
    return tenant, out


def _cpu(fn: Callable[[], None]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def _fresh(directory: Path, name: str, schema: str = SCHEMA) -> duckdb.DuckDBPyConnection:
    path = directory / f"{name}.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(schema)
    return con


def insert_paths(
    directory: Path, tables: list[pa.Table], rows_many: int, repeat: int, *, every: bool = True
) -> dict[str, float]:
    """CPU seconds per line of each insert path (best of ``repeat``; only the reference
    unless ``every``)."""
    lines = sum(t.num_rows for t in tables)
    # The Arrow table's columns (the store's compression clauses) without the tenant.
    ref_schema = (
        "CREATE TABLE ref (ts_ns BIGINT NOT NULL, id_seq UBIGINT, id_text VARCHAR, "
        "service VARCHAR NOT NULL, severity UTINYINT NOT NULL, agent VARCHAR NOT NULL, "
        "trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, "
        "message VARCHAR NOT NULL USING COMPRESSION zstd, labels VARCHAR NOT NULL, "
        "truncated BOOLEAN NOT NULL, template_id BIGINT, observed_ns BIGINT NOT NULL)"
    )

    def reference() -> None:
        con = _fresh(directory, "ref", ref_schema)
        for table in tables:
            con.from_arrow(table.drop_columns(["tenant_id"])).insert_into("ref")
        con.close()

    def store_statement() -> None:
        con = _fresh(directory, "stmt")
        for table in tables:
            con.from_arrow(table).project(PROJECT).insert_into("logs")
        con.close()

    def one_thread() -> None:
        con = _fresh(directory, "one")
        con.execute("SET threads = 1")
        for table in tables:
            con.from_arrow(table).project(PROJECT).insert_into("logs")
        con.close()

    def insert_select() -> None:
        con = _fresh(directory, "sel")
        for table in tables:
            con.register("batch", table)
            con.execute(f"INSERT INTO logs SELECT {PROJECT} FROM batch")
            con.unregister("batch")
        con.close()

    many = [row for t in tables for row in zip(*t.to_pydict().values(), strict=True)][:rows_many]

    def executemany() -> None:
        con = _fresh(directory, "many")
        con.executemany(
            f"INSERT INTO logs SELECT {PROJECT} FROM (SELECT ?::VARCHAR AS tenant_id, "
            "?::BIGINT AS ts_ns, ?::UBIGINT AS id_seq, ?::VARCHAR AS id_text, "
            "?::VARCHAR AS service, "
            "?::UTINYINT AS severity, ?::VARCHAR AS agent, ?::VARCHAR AS trace_id, "
            "?::VARCHAR AS span_id, ?::VARCHAR AS message, ?::VARCHAR AS labels, "
            "?::BOOLEAN AS truncated, ?::BIGINT AS template_id, ?::BIGINT AS observed_ns)",
            many,
        )
        con.close()

    paths = (
        ("reference", reference, lines),
        ("store statement", store_statement, lines),
        ("INSERT … SELECT", insert_select, lines),
        ("store statement, 1 thread", one_thread, lines),
        ("executemany", executemany, len(many)),
    )
    if not every:
        paths = paths[:1]
    # Rounds interleave the paths, so a change in the machine's load hits them all alike.
    results = {name: float("inf") for name, _, _ in paths}
    for _ in range(repeat):
        for name, fn, count in paths:
            results[name] = min(results[name], _cpu(fn) / count)
    return results


def store_write(
    directory: Path, batches: list[LogColumns], repeat: int, checkpoint_wal: str = CHECKPOINT_WAL
) -> tuple[float, float]:
    """CPU seconds per line through ``DuckDBLogStore.write_columns``, 4 writers, closing the
    store included (its last checkpoint), and the file's bytes per line after it."""
    lines = sum(len(b) for b in batches)

    path = directory / "store.duckdb"

    async def run() -> None:
        async with DuckDBLogStore(path, checkpoint_wal=checkpoint_wal) as store:
            queue = iter(batches)

            async def writer() -> None:
                for batch in queue:
                    await store.write_columns(batch)

            await asyncio.gather(*(writer() for _ in range(4)))

    def once() -> None:
        for suffix in ("", ".wal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        asyncio.run(run())

    cpu = min(_cpu(once) for _ in range(repeat)) / lines
    return cpu, duckdb_disk_bytes(path) / lines


def _split(message: str) -> tuple[str, str]:
    params = _VARIABLE.findall(message)
    return _VARIABLE.sub("\x00", message), "\x01".join(params)


def compression(directory: Path, tables: list[pa.Table]) -> dict[str, float]:
    """Bytes per line of the file, by how ``message`` is stored."""
    lines = sum(t.num_rows for t in tables)
    variants = {
        "DuckDB's choice": "",
        "zstd (the store)": " USING COMPRESSION zstd",
        "dict_fsst": " USING COMPRESSION dict_fsst",
        "fsst": " USING COMPRESSION fsst",
        "dictionary": " USING COMPRESSION dictionary",
    }
    base = SCHEMA.split("CREATE TABLE IF NOT EXISTS logs")[1]
    out: dict[str, float] = {}
    for name, clause in variants.items():
        schema = "CREATE TABLE logs" + base.replace(
            "message VARCHAR NOT NULL USING COMPRESSION zstd", "message VARCHAR NOT NULL" + clause
        )
        try:
            out[name] = _load(directory, schema, tables, lambda t: t) / lines
        except duckdb.Error as exc:  # this DuckDB refuses the method for new data
            print(f"  message as {name}: refused ({str(exc).splitlines()[0][:90]})")
    every = "CREATE TABLE logs" + base
    for column in ("service", "agent", "trace_id", "span_id", "labels"):
        every = every.replace(
            f"{column} VARCHAR NOT NULL,", f"{column} VARCHAR NOT NULL USING COMPRESSION zstd,"
        )
    out["zstd, and every other text column too"] = (
        _load(directory, every, tables, lambda t: t) / lines
    )
    split_schema = "CREATE TABLE logs" + base.replace(
        "message VARCHAR NOT NULL USING COMPRESSION zstd",
        "message VARCHAR NOT NULL USING COMPRESSION zstd, "
        "params VARCHAR NOT NULL USING COMPRESSION zstd",
    )

    def split(table: pa.Table) -> pa.Table:
        pairs = [_split(m) for m in table.column("message").to_pylist()]
        index = table.schema.get_field_index("message")
        table = table.set_column(index, "message", pa.array([p[0] for p in pairs], pa.string()))
        return table.add_column(index + 1, "params", pa.array([p[1] for p in pairs], pa.string()))

    out["template + parameters (both zstd)"] = _load(directory, split_schema, tables, split) / lines
    return out


def _load(
    directory: Path, schema: str, tables: list[pa.Table], shape: Callable[[pa.Table], pa.Table]
) -> int:
    path = directory / "compress.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(schema)
    names = shape(tables[0].slice(0, 1)).column_names
    project = INSERT_SQL.replace("message, labels", "message, params, labels")
    if "params" not in names:
        project = INSERT_SQL
    for table in tables:
        con.from_arrow(shape(table)).project(project).insert_into("logs")
    con.execute("CHECKPOINT")
    used, block = con.execute(
        "SELECT used_blocks, block_size FROM pragma_database_size()"
    ).fetchone() or (0, 0)
    con.close()
    file_bytes = duckdb_disk_bytes(path)
    print(f"    ({used * block / 1e6:.1f} MB in used blocks, file {file_bytes / 1e6:.1f} MB)")
    return int(used) * int(block)


def run(
    lines: int, insert: int, rows_many: int, repeat: int, *, store_only: bool = False
) -> list[Figure]:
    _, batches = _batches(lines, insert)
    cache: dict[tuple[tuple[str, str], ...], str] = {}
    tables = [arrow_columns(b, cache) for b in batches]
    print(
        f"log store inserts: {lines:,} lines in inserts of {insert:,}, best of {repeat}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-logs-append-") as tmp:
        directory = Path(tmp)
        paths = insert_paths(directory, tables, rows_many, repeat, every=not store_only)
        # DuckDB's default checkpoint threshold beside the store's, rounds interleaved.
        stored: dict[str, tuple[float, float]] = {}
        for _ in range(repeat):
            for name, wal in (
                (f"the store, {CHECKPOINT_WAL} WAL", CHECKPOINT_WAL),
                ("the store, 16MiB WAL (DuckDB's)", "16MiB"),
            ):
                cpu, size = store_write(directory, batches, 1, wal)
                best = stored.get(name)
                stored[name] = (min(cpu, best[0]) if best else cpu, size)
        for name, (cpu, size) in stored.items():
            paths[name] = cpu
            print(f"  {name}: file {size:.1f} bytes/line after close")
        sizes = {} if store_only else compression(directory, tables)
    ref = paths["reference"]
    for name, seconds in paths.items():
        print(f"  {name:28} {seconds * 1e6:8.2f} µs CPU/line  ({seconds / ref:6.2f}× reference)")
    for name, size in sizes.items():
        print(f"  message as {name:30} {size:6.1f} bytes/line")
    print(f"  load average after: {os.getloadavg()[0]:.1f}")
    return [
        Figure(
            "log store write CPU per line (reference: raw insert)",
            paths[f"the store, {CHECKPOINT_WAL} WAL"] * 1e9,
            "ns",
            reference=ref * 1e9,
            lower_is_better=True,
        ),
        *(
            [
                Figure(
                    "log store bytes per line (insert path bench)",
                    sizes["zstd (the store)"],
                    "B",
                    40,
                    lower_is_better=True,
                )
            ]
            if sizes
            else []
        ),
    ]


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--insert", type=int, default=4_000, help="lines per insert")
    parser.add_argument("--rows-executemany", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="only the reference and the whole store (no other insert paths, no compression)",
    )
    args = parser.parse_args(argv)
    print(machine())
    figures = run(
        args.lines, args.insert, args.rows_executemany, args.repeat, store_only=args.store_only
    )
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main()
