"""The log stores without HTTP: write rate, query latencies and bytes per line, DuckDB beside
ClickHouse in the same run.

Workload (``bench/_logs_data.py``): realistic lines of 80-300 bytes, 20 services, 5
severities, one tenant.

* write: ``--write-lines`` lines (built before the clock starts) in batches of 1,000 from 4
  concurrent asyncio writers through ``LogStore.write``; the clock stops when the last write
  returned (committed). Reference: the same batches into ClickHouse (``clickhouse-server``
  18.16 on 127.0.0.1, parts compressed with zstd) through ``ClickHouseLogStore.write``.
* queries: ``--lines`` lines (10 M by default) evenly over 24 h, loaded into both stores in
  batches of 10,000 as they are generated; then, best of 5 each: the newest 100 lines matching
  ``{service="orders"} |= "timeout"`` over the last hour and over the 24 h, and the 24 h
  severity histogram at 5-minute steps (of ``{service="orders"}`` and of every line).
* bytes per line: the DuckDB file (after a checkpoint) and ClickHouse's active parts (after
  ``OPTIMIZE … FINAL``) divided by the line count.

Targets (issue 16): write well above 150,000 lines/s (the HTTP target; the store must leave
room for HTTP), newest 100 over 1 h <= 50 ms, over 24 h <= 300 ms, histogram <= 200 ms,
disk <= 40 bytes/line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from agentdeck.logstore.base import LogRecord, LogStore
from agentdeck.logstore.clickhouse import ClickHouseLogStore
from agentdeck.logstore.duckdb import DuckDBLogStore
from agentdeck.logstore.logql import parse
from bench import Figure, machine
from bench._clickhouse import clickhouse
from bench._logs_data import generate

SECOND = 1_000_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
T0 = 1_717_372_800 * SECOND
WRITE_TARGET = 150_000
WRITERS = 4
BATCH = 1_000
QUERY = '{service="orders"} |= "timeout"'


async def _drive(
    write: Callable[[Sequence[LogRecord]], Awaitable[None]], batches: list[list[LogRecord]]
) -> float:
    queue = iter(batches)

    async def worker() -> None:
        for batch in queue:
            await write(batch)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(WRITERS)))
    return time.perf_counter() - started


async def write_rates(lines: int, url: str, tmp: Path) -> tuple[float, float]:
    tenant = uuid.uuid4()
    records = [
        r
        for chunk in generate(lines, tenant_id=tenant, start_ns=T0, end_ns=T0 + HOUR)
        for r in chunk
    ]
    batches = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
    duck = DuckDBLogStore(tmp / "write.duckdb")
    await duck.start()
    try:
        cpu = time.process_time()
        duck_s = await _drive(duck.write, batches)
        cpu = time.process_time() - cpu  # all threads: parsing-free store work, DuckDB's too
        stats = duck.stats
    finally:
        await duck.close()
    house_s, house_stats = float("nan"), {"transactions": 0}
    if url:
        house = ClickHouseLogStore(url, database="bench_write")
        await house.start()
        try:
            house_s = await _drive(house.write, batches)
            house_stats = house.stats
        finally:
            await house.close()
    print(
        f"  write {len(records):,} lines: duckdb {len(records) / duck_s:,.0f}/s "
        f"({stats['transactions']} transactions), clickhouse {len(records) / house_s:,.0f}/s "
        f"({house_stats['transactions']} inserts), load average {os.getloadavg()[0]:.1f}; "
        f"DuckDB store CPU {cpu * 1e6 / len(records):.1f} µs/line "
        f"(a bound on a quiet machine: {len(records) / cpu:,.0f} lines/s per busy core)"
    )
    return len(records) / duck_s, len(records) / house_s


async def load(stores: Sequence[LogStore], lines: int, tenant: uuid.UUID) -> dict[str, float]:
    spent = {store.backend: 0.0 for store in stores}
    started = time.perf_counter()
    for chunk in generate(lines, tenant_id=tenant, start_ns=T0, end_ns=T0 + DAY, chunk=10_000):
        for store in stores:
            t = time.perf_counter()
            await store.write(chunk)
            spent[store.backend] += time.perf_counter() - t
    print(f"  loaded {lines:,} lines into both stores in {time.perf_counter() - started:.0f} s")
    return {backend: lines / seconds for backend, seconds in spent.items()}


async def best_ms(call: Callable[[], Awaitable[object]], repeats: int = 5) -> float:
    await call()  # warm
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        await call()
        best = min(best, time.perf_counter() - t)
    return best * 1000


async def queries(store: LogStore, tenant: uuid.UUID) -> dict[str, float]:
    end = T0 + DAY
    query = parse(QUERY)
    out: dict[str, float] = {}
    for name, start in (("1h", end - HOUR), ("24h", T0)):
        page = await store.search(tenant, query, start_ns=start, end_ns=end, limit=100)
        if len(page.records) < 100:  # a reduced run: fewer lines match
            print(f"  ({store.backend}, {name}: only {len(page.records)} lines match)")
        out[name] = await best_ms(
            lambda s=start: store.search(tenant, query, start_ns=s, end_ns=end, limit=100)
        )
    for name, text in (("histogram", '{service="orders"}'), ("histogram_all", "")):
        parsed = parse(text)
        out[name] = await best_ms(
            lambda p=parsed: store.histogram(
                tenant, p, start_ns=T0, end_ns=end, step_ns=300 * SECOND
            )
        )
    return out


async def run(lines: int, write_lines: int, with_clickhouse: bool = True) -> list[Figure]:
    print(
        f"log stores: write {write_lines:,} lines ({WRITERS} writers, batches of {BATCH:,}); "
        f"queries over {lines:,} lines in 24 h; {machine()}"
    )
    server = clickhouse() if with_clickhouse else contextlib.nullcontext("")
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp_dir, server as url:
        tmp = Path(tmp_dir)
        duck_rate, house_rate = await write_rates(write_lines, url, tmp)
        tenant = uuid.uuid4()
        duck = DuckDBLogStore(tmp / "logs.duckdb")
        # OPTIMIZE … FINAL of 10 M lines outlasts the store's 60 s query timeout on a busy host.
        house = ClickHouseLogStore(url, database="bench_query", query_timeout=3600.0)
        stores: list[LogStore] = [duck, house] if url else [duck]
        for store in stores:
            await store.start()
        try:
            loaded = await load(stores, lines, tenant)
            await duck.checkpoint()
            duck_bytes = duck.disk_bytes() / lines
            duck_q = await queries(duck, tenant)
            _print(duck_q, duck_bytes, loaded, "duckdb")
            house_bytes, house_q = float("nan"), dict.fromkeys(duck_q, float("nan"))
            if url:
                await house.optimize()
                house_bytes = await house.disk_bytes() / lines
                house_q = await queries(house, tenant)
                _print(house_q, house_bytes, loaded, "clickhouse")
        finally:
            for store in stores:
                await store.close()
    low = True
    return [
        Figure("log store write, DuckDB (no HTTP)", duck_rate, "lines/s", WRITE_TARGET, house_rate),
        Figure("reference: ClickHouseLogStore.write", house_rate, "lines/s"),
        Figure("newest 100 |= timeout, 1 h, DuckDB", duck_q["1h"], "ms", 50, house_q["1h"], low),
        Figure("reference: the same on ClickHouse", house_q["1h"], "ms", lower_is_better=low),
        Figure(
            "newest 100 |= timeout, 24 h, DuckDB", duck_q["24h"], "ms", 300, house_q["24h"], low
        ),
        Figure("reference: the same on ClickHouse", house_q["24h"], "ms", lower_is_better=low),
        Figure(
            "24 h histogram, 5 min, one service, DuckDB",
            duck_q["histogram"],
            "ms",
            200,
            house_q["histogram"],
            low,
        ),
        Figure(
            "reference: the same on ClickHouse", house_q["histogram"], "ms", lower_is_better=low
        ),
        Figure(
            "24 h histogram, 5 min, all lines, DuckDB",
            duck_q["histogram_all"],
            "ms",
            200,
            house_q["histogram_all"],
            low,
        ),
        Figure(
            "reference: the same on ClickHouse", house_q["histogram_all"], "ms", lower_is_better=low
        ),
        Figure("disk per line, DuckDB", duck_bytes, "bytes", 40, house_bytes, low),
        Figure("reference: ClickHouse (zstd parts)", house_bytes, "bytes", lower_is_better=low),
    ]


def _print(q: dict[str, float], per_line: float, loaded: dict[str, float], backend: str) -> None:
    print(
        f"  {backend}: bulk load (batches of 10,000) {loaded[backend]:,.0f} lines/s, "
        f"{per_line:.1f} bytes/line, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for name, ms in q.items():
        print(f"    {name}: {ms:.1f} ms", flush=True)


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench logs_store")
    parser.add_argument("--lines", type=int, default=10_000_000, help="lines for the queries")
    parser.add_argument(
        "--write-lines", type=int, default=200_000, help="lines for the write rates"
    )
    parser.add_argument(
        "--no-clickhouse", action="store_true", help="the embedded store alone (no reference)"
    )
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.lines, args.write_lines, not args.no_clickhouse))
    for figure in figures:
        print(figure.line())
    return figures
