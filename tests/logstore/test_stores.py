"""Behaviour beyond the contract: durability, group commit, the factory, reopening."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from agentdeck.logstore.base import LogQuery, LogRecord, LogStoreError, RecordIds, Severity
from agentdeck.logstore.clickhouse import ClickHouseLogStore
from agentdeck.logstore.duckdb import DuckDBLogStore
from agentdeck.logstore.factory import open_log_store

from .conftest import ClickHouseServer

SECOND = 1_000_000_000
T0 = 1_717_372_800 * SECOND


def lines(tenant: uuid.UUID, n: int, start: int = 0) -> list[LogRecord]:
    ids = RecordIds()
    return [
        LogRecord(
            id=ids.next(T0 + i),
            tenant_id=tenant,
            ts_ns=T0 + i,
            service="api",
            severity=Severity.INFO,
            message=f"line {i}",
        )
        for i in range(start, start + n)
    ]


async def count(store: DuckDBLogStore | ClickHouseLogStore, tenant: uuid.UUID) -> int:
    page = await store.search(tenant, LogQuery(), start_ns=0, end_ns=T0 + 10**12, limit=1_000_000)
    return len(page.records)


WRITER = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from agentdeck.logstore.base import LogRecord, RecordIds, Severity
    from agentdeck.logstore.duckdb import DuckDBLogStore

    async def main() -> None:
        store = DuckDBLogStore(sys.argv[1])
        await store.start()
        tenant = uuid.UUID(sys.argv[2])
        ids = RecordIds()
        batch = 0
        while True:
            records = [
                LogRecord(id=ids.next(10**18 + batch * 1000 + i), tenant_id=tenant,
                          ts_ns=10**18 + batch * 1000 + i, service="api",
                          severity=Severity.INFO, message=f"b{batch} l{i}")
                for i in range(1000)
            ]
            await store.write(records)
            print(batch, flush=True)  # acknowledged: committed
            batch += 1

    asyncio.run(main())
    """
)


def write_until_killed(path: Path, tenant: uuid.UUID, batches: int) -> int:
    """Run a writer process, SIGKILL it after ``batches`` acknowledged writes; the last
    acknowledged batch number."""
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(tenant)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    acknowledged = -1
    try:
        for line in process.stdout:  # let it write (and be acknowledged) a few times
            acknowledged = int(line)
            if acknowledged >= batches:
                break
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
    return acknowledged


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    tenant = uuid.uuid4()
    acknowledged = await asyncio.to_thread(write_until_killed, path, tenant, 5)
    assert acknowledged >= 5
    store = DuckDBLogStore(path)
    await store.start()
    try:
        page = await store.search(
            tenant, LogQuery(), start_ns=0, end_ns=2 * 10**18, limit=10**6, direction="forward"
        )
        # every acknowledged batch is there, whole (a batch in flight may be too, or not)
        assert len(page.records) >= (acknowledged + 1) * 1000
        assert len(page.records) % 1000 == 0
        assert page.records[0].message == "b0 l0"
    finally:
        await store.close()


async def test_concurrent_writes_are_coalesced(tmp_path: Path) -> None:
    store = DuckDBLogStore(tmp_path / "logs.duckdb")
    await store.start()
    try:
        tenant = uuid.uuid4()
        await asyncio.gather(*(store.write(lines(tenant, 100, 100 * k)) for k in range(50)))
        assert await count(store, tenant) == 5000
        assert store.stats["write_calls"] == 50
        assert store.stats["transactions"] < 50
    finally:
        await store.close()


async def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "logs.duckdb"
    tenant = uuid.uuid4()
    store = DuckDBLogStore(path)
    await store.start()
    await store.write(lines(tenant, 300))
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(LogStoreError):
        await store.write(lines(tenant, 1))
    again = DuckDBLogStore(path)
    await again.start()
    try:
        assert await count(again, tenant) == 300
        await again.write(lines(tenant, 10, 300))
        assert await count(again, tenant) == 310
    finally:
        await again.close()


def _file_bytes(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def test_the_wal_is_checkpointed_at_the_stores_threshold(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    wal_bytes = {}
    for threshold in ("128MiB", "64KiB"):
        path = tmp_path / f"{threshold}.duckdb"
        store = DuckDBLogStore(path, checkpoint_wal=threshold)
        await store.start()
        try:
            for k in range(10):
                await store.write(lines(tenant, 500, 500 * k))
            wal_bytes[threshold] = _file_bytes(Path(f"{path}.wal"))
            assert await count(store, tenant) == 5000
        finally:
            await store.close()
    # Under the default threshold the lines wait in the log (replayed on open); past a small
    # one DuckDB folded them into the file as it went.
    assert wal_bytes["128MiB"] > 200_000
    assert wal_bytes["64KiB"] < 100_000
    again = DuckDBLogStore(tmp_path / "128MiB.duckdb")
    await again.start()
    try:
        assert await count(again, tenant) == 5000
    finally:
        await again.close()


async def test_a_failing_batch_fails_alone(tmp_path: Path) -> None:
    store = DuckDBLogStore(tmp_path / "logs.duckdb")
    await store.start()
    try:
        tenant = uuid.uuid4()
        good = lines(tenant, 10)
        bad = [
            LogRecord(
                id="x",
                tenant_id=tenant,
                ts_ns=T0,
                service="api",
                severity="LOUD",  # type: ignore[arg-type]
                message="m",
            )
        ]
        results = await asyncio.gather(
            store.write(good),
            store.write(bad),
            store.write(lines(tenant, 5, 10)),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], Exception)
        assert await count(store, tenant) == 15
    finally:
        await store.close()


async def test_factory_opens_either_backend(tmp_path: Path, clickhouse: ClickHouseServer) -> None:
    tenant = uuid.uuid4()
    duck = await open_log_store("duckdb", path=tmp_path / "f.duckdb", commit_linger=0)
    house = await open_log_store(
        "clickhouse", url=f"{clickhouse.url}/factory_{uuid.uuid4().hex[:8]}", read_threads=1
    )
    try:
        assert duck.backend == "duckdb" and house.backend == "clickhouse"
        for store in (duck, house):
            await store.write(lines(tenant, 3))
            page = await store.search(tenant, LogQuery(), start_ns=0, end_ns=T0 + 10, limit=10)
            assert len(page.records) == 3
    finally:
        await duck.close()
        await house.close()
    with pytest.raises(ValueError, match="unknown log store backend"):
        await open_log_store("loki")
    with pytest.raises(ValueError, match="needs a path"):
        await open_log_store("duckdb")
    with pytest.raises(ValueError, match="needs a url"):
        await open_log_store("clickhouse")


async def test_clickhouse_down_is_a_store_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = ClickHouseLogStore(f"clickhouse://127.0.0.1:{port}", connect_timeout=2)
    with pytest.raises(LogStoreError, match="cannot open"):
        await store.start()
    with pytest.raises(ValueError):
        ClickHouseLogStore("clickhouse://127.0.0.1:9000/bad-name!")


async def test_a_file_that_is_no_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "logs.duckdb"
    path.write_bytes(b"not a database" * 1000)
    store = DuckDBLogStore(path)
    with pytest.raises(LogStoreError, match="cannot open"):
        await store.start()
    await store.close()


def test_record_ids_carry_time_node_and_counter() -> None:
    from agentdeck.logstore.base import RecordIds, record_id_ms

    ids = RecordIds(node=0xDEADBEEF)
    ts = 1_765_000_000_123_456_789
    first, second = ids.next(ts), ids.next(ts)
    assert first[:11] == f"{ts // 1_000_000:011x}" and first[11:19] == "deadbeef"
    assert len(first) == 26 and second > first and record_id_ms(first) == ts // 1_000_000
    assert ids.next(-5)[:19] == "00000000000deadbeef"
