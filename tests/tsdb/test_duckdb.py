"""Behaviour specific to the embedded DuckDB store: durability, coalescing, layout, rollups."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pytest

from agentdeck.tsdb.base import Matcher, SampleBatch, Series, SeriesKey, StoreError
from agentdeck.tsdb.duckdb import DuckDBStore

from .data import DAY, STEP, T0, batch_of, fleet, interleaved_batches

HOUR = 3_600_000

# Writes numbered batches from four concurrent writers and prints "acked <n>" as soon as each
# write() returned, forever; the test kills it with SIGKILL at an arbitrary moment.
WRITER = textwrap.dedent(
    """
    import asyncio, sys, uuid
    import numpy as np
    from agentdeck.tsdb.base import SampleBatch
    from agentdeck.tsdb.duckdb import DuckDBStore

    T0 = 1_717_372_800_000

    def batch(n):
        ts = T0 + n * 1_000_000 + np.arange(500, dtype=np.int64)
        values = n + np.arange(500) / 1000
        return SampleBatch.from_series(
            [(f"m{n % 7}", {"n": str(n)}, ts[:250], values[:250]),
             ("shared", {"w": str(n % 4)}, ts[250:], values[250:])])

    async def main(path, tenant):
        store = await DuckDBStore.open(path)
        counter = iter(range(10**9))
        async def writer():
            while True:
                n = next(counter)
                await store.write(tenant, batch(n))
                print("acked", n, flush=True)
        await asyncio.gather(*(writer() for _ in range(4)))

    asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2])))
    """
)


def expected_batch(n: int) -> SampleBatch:
    ts = T0 + n * 1_000_000 + np.arange(500, dtype=np.int64)
    values = n + np.arange(500) / 1000
    return SampleBatch.from_series(
        [
            (f"m{n % 7}", {"n": str(n)}, ts[:250], values[:250]),
            ("shared", {"w": str(n % 4)}, ts[250:], values[250:]),
        ]
    )


def run_writer_and_kill(path: Path, tenant: uuid.UUID, acks: int) -> list[int]:
    """Start the writer process, SIGKILL it after ``acks`` acknowledged writes."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(tenant)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: list[int] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:  # blocks until the child acknowledges a write
            acked.append(int(line.split()[1]))
            if len(acked) >= acks:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, stderr
    assert len(acked) >= acks, stderr
    # The acknowledged data lives in DuckDB's write-ahead log: reopening must replay it.
    assert Path(f"{path}.wal").stat().st_size > 0
    return acked


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "metrics.duckdb"
    tenant = uuid.uuid4()
    acked = await asyncio.to_thread(run_writer_and_kill, path, tenant, 150)

    store = await DuckDBStore.open(path)
    try:
        everything = await store.select(tenant, [Matcher("__name__", "=~", ".+")], 0, T0 + 10**12)
        stored: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = {}
        for series in everything:
            points = dict(zip(series.timestamps.tolist(), series.values.tolist(), strict=True))
            stored[(series.name, series.key.labels)] = points
        for n in acked:
            want = expected_batch(n)
            for i, key in enumerate(want.series):
                mask = want.series_index == i
                points = stored[(key.name, key.labels)]
                for ts, value in zip(
                    want.timestamps[mask].tolist(), want.values[mask].tolist(), strict=True
                ):
                    assert points[ts] == value, (n, key, ts)
    finally:
        await store.close()


async def test_concurrent_writes_share_transactions(duckdb_store: DuckDBStore) -> None:
    tenant = uuid.uuid4()
    batches = [
        SampleBatch.from_series([("m", {"i": str(i)}, [T0 + i], [float(i)])]) for i in range(50)
    ]
    results = await asyncio.gather(*(duckdb_store.write(tenant, b) for b in batches))
    assert [r.samples for r in results] == [1] * 50
    stats = await duckdb_store.stats()
    assert stats.write_calls == 50
    assert stats.write_transactions < 50  # coalesced
    assert stats.samples_written == 50
    assert len(await duckdb_store.select(tenant, [Matcher.name_is("m")], T0, T0 + 100)) == 50


def _one_sample(i: int) -> SampleBatch:
    return SampleBatch.from_series([("m", {"i": str(i)}, [T0 + i], [float(i)])])


async def test_a_lone_writer_never_waits_for_company(tmp_path: Path) -> None:
    """One writer at a time (each write after the previous answer): no commit lingers."""
    store = await DuckDBStore.open(tmp_path / "m.duckdb", commit_linger=30.0)
    try:
        tenant = uuid.uuid4()
        started = time.monotonic()
        for i in range(20):
            await store.write(tenant, _one_sample(i))
        assert time.monotonic() - started < 30  # one linger alone would take that long
        assert (await store.stats()).write_transactions == 20
    finally:
        await store.close()


@pytest.mark.parametrize(("linger", "transactions"), [(30.0, 2), (0.0, 3)])
async def test_overlapping_writers_share_a_commit(
    tmp_path: Path, linger: float, transactions: int
) -> None:
    """A write that arrived while the previous commit ran waits (up to the linger) for the
    next one, and both share a commit; with no linger each commits alone."""
    store = await DuckDBStore.open(tmp_path / "m.duckdb", commit_linger=linger)
    tenant = uuid.uuid4()
    gate = threading.Event()
    try:
        store._threads.writer.submit(gate.wait)  # the writer thread is busy until the gate opens
        first = asyncio.create_task(store.write(tenant, _one_sample(0)))
        group = store._group
        assert group is not None
        for _ in range(1000):  # yield until the writer took it (to the busy thread)
            await asyncio.sleep(0)
            if group.calls and not group.queued:
                break
        assert group.calls == 1 and not group.queued
        second = asyncio.create_task(store.write(tenant, _one_sample(1)))  # during its commit
        await asyncio.sleep(0)
        gate.set()
        started = time.monotonic()
        await first
        third = await store.write(tenant, _one_sample(2))
        await second
        assert third.samples == 1
        assert time.monotonic() - started < 30  # the third ended the wait, not the clock
        assert (await store.stats()).write_transactions == transactions
        found = await store.select(tenant, [Matcher.name_is("m")], T0, T0 + 10)
        assert sorted(s.labels["i"] for s in found) == ["0", "1", "2"]
    finally:
        gate.set()
        await store.close()


async def test_a_refused_batch_fails_alone(duckdb_store: DuckDBStore) -> None:
    tenant = uuid.uuid4()
    good = [SampleBatch.from_series([("ok", {"i": str(i)}, [T0], [1.0])]) for i in range(3)]
    bad = SampleBatch.from_series([("bad", {"v": "\ud800"}, [T0], [1.0])])  # lone surrogate
    results = await asyncio.gather(
        duckdb_store.write(tenant, good[0]),
        duckdb_store.write(tenant, bad),
        duckdb_store.write(tenant, good[1]),
        duckdb_store.write(tenant, good[2]),
        return_exceptions=True,
    )
    assert isinstance(results[1], StoreError)
    assert [getattr(r, "samples", None) for i, r in enumerate(results) if i != 1] == [1, 1, 1]
    assert len(await duckdb_store.select(tenant, [Matcher.name_is("ok")], T0, T0)) == 3
    assert await duckdb_store.select(tenant, [Matcher.name_is("bad")], T0, T0) == []
    assert await duckdb_store.label_values(tenant, "__name__") == ["ok"]
    # The store keeps working, and the failed series can be written once fixed.
    await duckdb_store.write(
        tenant, SampleBatch.from_series([("bad", {"v": "fixed"}, [T0], [1.0])])
    )
    assert await duckdb_store.label_values(tenant, "__name__") == ["bad", "ok"]


async def test_new_series_are_counted_once(duckdb_store: DuckDBStore) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=3, points=4)
    first = await duckdb_store.write(tenant, batch_of(data))
    again = await duckdb_store.write(tenant, batch_of(data))
    other_tenant = await duckdb_store.write(uuid.uuid4(), batch_of(data))
    assert first.new_series == len(data)
    assert again.new_series == 0
    assert other_tenant.new_series == len(data)


async def test_key_objects_sent_again_map_to_their_series_also_after_retention(
    duckdb_store: DuckDBStore,
) -> None:
    # Writers hand over the same key objects batch after batch (the ingest core keeps one per
    # series); the store finds them without hashing their labels, and must not keep mapping
    # them to series that retention deleted, nor mix tenants up.
    tenant, other = uuid.uuid4(), uuid.uuid4()
    keys = (SeriesKey("cpu", (("agent", "a"),)), SeriesKey("cpu", (("agent", "b"),)))

    def batch(ts: int, value: float) -> SampleBatch:
        return SampleBatch(
            keys,
            np.array([0, 1], np.int32),
            np.array([ts, ts], np.int64),
            np.array([value, value + 1]),
        )

    assert (await duckdb_store.write(tenant, batch(T0, 1.0))).new_series == 2
    assert (await duckdb_store.write(tenant, batch(T0 + STEP, 3.0))).new_series == 0
    assert (await duckdb_store.write(other, batch(T0, 10.0))).new_series == 2
    await duckdb_store.delete_before(tenant, T0 + 2 * STEP)  # both series of `tenant` go
    assert await duckdb_store.series(tenant, [Matcher.name_is("cpu")], 0, T0 + DAY) == []
    assert (await duckdb_store.write(tenant, batch(T0 + 3 * STEP, 5.0))).new_series == 2
    assert (await duckdb_store.write(tenant, batch(T0 + 4 * STEP, 7.0))).new_series == 0
    mine = await duckdb_store.select(tenant, [Matcher.name_is("cpu")], 0, T0 + DAY)
    assert [(s.labels, s.timestamps.tolist(), s.values.tolist()) for s in mine] == [
        ({"agent": "a"}, [T0 + 3 * STEP, T0 + 4 * STEP], [5.0, 7.0]),
        ({"agent": "b"}, [T0 + 3 * STEP, T0 + 4 * STEP], [6.0, 8.0]),
    ]
    theirs = await duckdb_store.select(other, [Matcher.name_is("cpu")], 0, T0 + DAY)
    assert [(s.labels, s.values.tolist()) for s in theirs] == [
        ({"agent": "a"}, [10.0]),
        ({"agent": "b"}, [11.0]),
    ]
    assert (await duckdb_store.stats()).series == 4


async def test_reopening_keeps_the_dictionary_and_data(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    tenant = uuid.uuid4()
    data = fleet(agents=4, points=10)
    async with await DuckDBStore.open(path) as store:
        await store.write(tenant, batch_of(data))
        series_before = (await store.stats()).series
    async with await DuckDBStore.open(path) as store:
        assert (await store.stats()).series == series_before
        later = [(s.name, s.labels, s.timestamps + 10 * STEP, s.values + 1) for s in data]
        result = await store.write(tenant, SampleBatch.from_series(later))
        assert result.new_series == 0
        assert (await store.stats()).series == series_before
        cpu = await store.select(tenant, [Matcher.name_is("cpu_percent")], T0, T0 + DAY)
        assert {len(s) for s in cpu} == {20}
        assert await store.label_values(tenant, "agent") == [f"agent-{i:03d}" for i in range(4)]


async def test_labels_are_stored_once_per_series(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    tenant = uuid.uuid4()
    data = fleet(agents=5, points=100)
    async with await DuckDBStore.open(path) as store:
        await store.write(tenant, batch_of(data))
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = [row[0] for row in con.execute("DESCRIBE samples").fetchall()]
        assert columns == ["series_id", "ts", "value"]
        assert con.execute("SELECT count(*) FROM series").fetchone() == (len(data),)
        assert con.execute("SELECT count(*) FROM samples").fetchone() == (len(data) * 100,)
        hashes = con.execute("SELECT count(DISTINCT hash) FROM series").fetchone()
        assert hashes == (len(data),)
    finally:
        con.close()


async def test_rollups_aggregate_whole_hours_once(duckdb_store: DuckDBStore) -> None:
    tenant = uuid.uuid4()
    rng = np.random.default_rng(5)
    timestamps = T0 + np.arange(600, dtype=np.int64) * STEP  # 2.5 hours at 15 s
    series = {name: np.round(rng.uniform(0, 10, 600), 3) for name in ("a", "b")}
    await duckdb_store.write(
        tenant,
        SampleBatch.from_series([(name, {}, timestamps, v) for name, v in series.items()]),
    )
    assert await duckdb_store.rollup(tenant, T0 + 2 * HOUR + 30 * 60_000) == 2 * 480
    assert await duckdb_store.rollup(tenant, T0 + 2 * HOUR + 59 * 60_000) == 0  # same hours

    ((metric, buckets, stats),) = await duckdb_store.rollups(tenant, "1m", [Matcher.name_is("a")])
    assert metric == {"__name__": "a"}
    assert buckets.tolist() == [T0 + i * 60_000 for i in range(120)]
    minute = series["a"][4 * 7 : 4 * 8]  # the 8th minute: 4 samples
    assert stats[7].tolist() == [minute.min(), minute.max(), minute.sum(), 4.0]

    ((_, hours, hour_stats),) = await duckdb_store.rollups(tenant, "1h", [Matcher.name_is("b")])
    assert hours.tolist() == [T0, T0 + HOUR]
    first_hour = series["b"][:240]
    assert hour_stats[0][0] == first_hour.min() and hour_stats[0][1] == first_hour.max()
    assert hour_stats[0][2] == pytest.approx(first_hour.sum(), rel=1e-12)
    assert hour_stats[0][3] == 240

    # The next call rolls up the next whole hour (which holds the last 30 minutes of data).
    assert await duckdb_store.rollup(tenant, T0 + 3 * HOUR) == 2 * 120
    # Retention removes old rollups with the raw samples.
    await duckdb_store.delete_before(tenant, T0 + HOUR)
    ((_, hours, _),) = await duckdb_store.rollups(tenant, "1h", [Matcher.name_is("b")])
    assert hours.tolist() == [T0 + HOUR, T0 + 2 * HOUR]
    ((_, minutes, _),) = await duckdb_store.rollups(tenant, "1m", [Matcher.name_is("b")])
    assert minutes[0] == T0 + HOUR
    # Other tenants' rollups are untouched and their progress is their own.
    assert await duckdb_store.rollup(uuid.uuid4(), T0 + 3 * HOUR) == 0


async def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.write(uuid.uuid4(), batch_of(fleet(agents=1, points=1)))
    with pytest.raises(StoreError, match="closed"):
        await store.select(uuid.uuid4(), [Matcher.name_is("m")], 0, T0)
    with pytest.raises(StoreError, match="closed"):
        await store.label_names(uuid.uuid4())
    with pytest.raises(StoreError, match="closed"):
        await store.ping()  # readiness


async def test_close_lets_reads_in_flight_finish(tmp_path: Path) -> None:
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    tenant = uuid.uuid4()
    await store.write(tenant, batch_of(fleet(agents=50, points=200)))
    reads = [store.select(tenant, [Matcher("agent", "=~", ".+")], T0, T0 + DAY) for _ in range(8)]
    *results, _ = await asyncio.gather(*reads, store.close())
    assert all(len(result) == 200 for result in results)


async def test_close_waits_for_pending_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    tenant = uuid.uuid4()
    store = await DuckDBStore.open(path)
    writes = [
        store.write(tenant, SampleBatch.from_series([("m", {"i": str(i)}, [T0], [1.0])]))
        for i in range(20)
    ]
    # gather starts the writes before close(), in order; close() must let them finish.
    *results, _ = await asyncio.gather(*writes, store.close())
    assert [r.samples for r in results] == [1] * 20
    async with await DuckDBStore.open(path) as reopened:
        assert len(await reopened.select(tenant, [Matcher.name_is("m")], T0, T0)) == 20


async def test_stats_report_disk_usage(duckdb_store: DuckDBStore) -> None:
    await duckdb_store.write(uuid.uuid4(), batch_of(fleet(agents=2, points=10)))
    stats = await duckdb_store.stats()
    assert stats.backend == "duckdb"
    assert stats.disk_bytes is not None and stats.disk_bytes > 0
    assert stats.series == 8


def _as_rows(result: list[Series]) -> list[tuple[str, dict[str, str], list[int], list[float]]]:
    return [(s.name, s.labels, s.timestamps.tolist(), s.values.tolist()) for s in result]


ALL = [Matcher("__name__", "=~", ".+")]


async def test_compaction_keeps_every_read_identical(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    tenant = uuid.uuid4()
    # 80 agents × 4 metrics: reads of 320 series take the joined-ids path, cpu alone the inline.
    data = fleet(agents=80, points=30)
    async with await DuckDBStore.open(path) as store:
        for batch in interleaved_batches(data, 1_000):
            await store.write(tenant, batch)
        queries = [
            (ALL, T0, T0 + DAY),
            ([Matcher.name_is("cpu_percent")], T0 + 5 * STEP, T0 + 20 * STEP),
            ([Matcher("agent", "=", "agent-007")], T0, T0 + 3 * STEP),
        ]
        before = [_as_rows(await store.select(tenant, m, s, e)) for m, s, e in queries]
        assert len(before[0]) == 320
        assert await store.compact(T0 + 10 * STEP) == 320 * 10  # part of the head
        assert [_as_rows(await store.select(tenant, m, s, e)) for m, s, e in queries] == before
        assert await store.compact() == 320 * 20  # the rest
        assert await store.compact() == 0
        assert [_as_rows(await store.select(tenant, m, s, e)) for m, s, e in queries] == before
    async with await DuckDBStore.open(path) as store:
        assert [_as_rows(await store.select(tenant, m, s, e)) for m, s, e in queries] == before
        assert await store.series(tenant, [Matcher.name_is("latency_ms")], T0, T0 + DAY) == [
            s.key.metric() for s in sorted(data, key=lambda s: s.key) if s.name == "latency_ms"
        ]
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT count(*) FROM samples").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM samples_sorted").fetchall() == [(320 * 30,)]


async def test_writes_during_and_after_compaction_are_read_back(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    first = fleet(agents=6, points=20)
    later = [
        (s.name, s.labels, s.timestamps + 20 * STEP, s.values + 1)
        for s in fleet(agents=6, points=20, seed=9)
    ]
    async with await DuckDBStore.open(tmp_path / "m.duckdb") as store:
        await store.write(tenant, batch_of(first))
        # A write queued behind the compaction and a late sample older than compacted data.
        late = SampleBatch.from_series([("cpu_percent", {"agent": "late"}, [T0 - STEP], [1.0])])
        moved, _, _ = await asyncio.gather(
            store.compact(),
            store.write(tenant, SampleBatch.from_series(later)),
            store.write(tenant, late),
        )
        assert moved in (len(first) * 20, len(first) * 40 + 1)  # order on the writer decides
        await store.compact()
        result = await store.select(tenant, [Matcher.name_is("memory_percent")], T0, T0 + DAY)
        assert len(result) == 6
        for series in result:
            assert len(series) == 40
            assert np.all(np.diff(series.timestamps) > 0)
        (lone,) = await store.select(tenant, [Matcher("agent", "=", "late")], T0 - DAY, T0)
        assert lone.timestamps.tolist() == [T0 - STEP]


async def test_retention_and_rollups_see_compacted_samples(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    timestamps = T0 + np.arange(480, dtype=np.int64) * STEP  # 2 hours at 15 s
    values = np.arange(480, dtype=np.float64)
    async with await DuckDBStore.open(tmp_path / "m.duckdb") as store:
        await store.write(tenant, SampleBatch.from_series([("a", {}, timestamps, values)]))
        await store.compact(T0 + HOUR)  # the first hour compacted, the second in the head
        assert await store.rollup(tenant, T0 + 2 * HOUR) == 480
        ((_, hours, stats),) = await store.rollups(tenant, "1h", [Matcher.name_is("a")])
        assert hours.tolist() == [T0, T0 + HOUR]
        assert stats[:, 3].tolist() == [240, 240]
        await store.delete_before(tenant, T0 + HOUR + 30 * 60_000)
        (left,) = await store.select(tenant, [Matcher.name_is("a")], T0, T0 + DAY)
        assert left.timestamps[0] == T0 + HOUR + 30 * 60_000 and len(left) == 120
        await store.delete_before(tenant, T0 + DAY)
        assert await store.select(tenant, [Matcher.name_is("a")], T0, T0 + DAY) == []


async def test_the_head_is_compacted_automatically(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    tenant = uuid.uuid4()

    def agent(n: int, start: int) -> SampleBatch:  # 4 series × 50 points = 200 samples
        return batch_of(fleet(agents=1, points=50, start=start, seed=n))

    async with await DuckDBStore.open(path, compact_rows=10**9) as store:
        await store.write(tenant, agent(0, T0))
        await store.write(tenant, agent(1, T0 + 50 * STEP))
        await store.write(tenant, agent(2, T0 + 100 * STEP))
    async with await DuckDBStore.open(path, compact_rows=500) as store:  # 600 ≥ 500 at open
        assert await store.compact() == 0
        await store.write(tenant, agent(3, T0 + 150 * STEP))  # 200: under the threshold
        await store.write(tenant, agent(4, T0 + 200 * STEP))  # 400: still under
        assert await store.compact(T0 + 160 * STEP) == 40  # 10 points × 4 series
        await store.write(tenant, agent(5, T0 + 250 * STEP))  # 560 in the head → compacted
        assert await store.compact() == 0
        (cpu,) = await store.select(tenant, [Matcher.name_is("cpu_percent")], T0, T0 + DAY)
        assert len(cpu) == 300
        assert cpu.timestamps.tolist() == (T0 + np.arange(300) * STEP).tolist()


async def test_finished_spans_are_compacted_by_time(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    tenant = uuid.uuid4()
    minute = 60_000
    # 70 agents × 4 metrics at 1-minute steps from T0 (a 2 h boundary) to T0 + 2 h 10 min.
    data = fleet(agents=70, points=131, step=minute)
    async with await DuckDBStore.open(path) as store:
        batches = interleaved_batches(data, 1_000)
        for batch in batches:
            await store.write(tenant, batch)
        # Every sample is read back once, the 280-series (joined ids) read included.
        everything = await store.select(tenant, ALL, T0, T0 + DAY)
        assert [len(s) for s in everything] == [131] * 280
        recent = await store.select(tenant, ALL, T0 + 2 * HOUR, T0 + DAY)
        assert [s.timestamps.tolist() for s in recent] == [
            (T0 + 2 * HOUR + np.arange(11) * minute).tolist()
        ] * 280
        (one,) = await store.select(
            tenant,
            [Matcher.name_is("cpu_percent"), Matcher("agent", "=", "agent-007")],
            T0,
            T0 + DAY,
        )
        source = next(
            s for s in data if s.name == "cpu_percent" and s.labels["agent"] == "agent-007"
        )
        assert one.values.tolist() == source.values.tolist()
    with duckdb.connect(str(path)) as con:
        # The first span ended more than 5 minutes before the newest sample: it was moved into
        # the sorted table; the running span stayed in the head.
        assert con.execute("SELECT count(*), min(ts) FROM samples").fetchall() == [
            (280 * 11, T0 + 2 * HOUR)
        ]
        assert con.execute("SELECT count(*), max(ts) FROM samples_sorted").fetchall() == [
            (280 * 120, T0 + 2 * HOUR - minute)
        ]


async def test_reads_racing_compaction_and_retention_see_each_sample_once(
    tmp_path: Path,
) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=80, points=40)
    queries = [
        (ALL, T0, T0 + DAY),  # 320 series: the joined-ids read
        ([Matcher.name_is("cpu_percent")], T0, T0 + DAY),
        ([Matcher("agent", "=", "agent-003"), Matcher.name_is("cpu_percent")], T0, T0 + DAY),
    ]
    async with await DuckDBStore.open(tmp_path / "m.duckdb") as store:
        for batch in interleaved_batches(data, 2_000):
            await store.write(tenant, batch)
        before = [_as_rows(await store.select(tenant, m, s, e)) for m, s, e in queries]
        for cut in (T0 + 10 * STEP, T0 + 25 * STEP, None):
            reads = [store.select(tenant, m, s, e) for m, s, e in queries for _ in range(6)]
            results = await asyncio.gather(store.compact(cut), *reads)
            for i, result in enumerate(results[1:]):
                assert _as_rows(result) == before[i // 6]
        # Retention while reading: each read sees all 40 points or only the last 20.
        reads = [store.select(tenant, ALL, T0, T0 + DAY) for _ in range(8)]
        results = await asyncio.gather(store.delete_before(tenant, T0 + 20 * STEP), *reads)
        for result in results[1:]:
            assert {len(s) for s in result} in ({40}, {20})
        after = await store.select(tenant, ALL, T0, T0 + DAY)
        assert {s.timestamps[0] for s in after} == {T0 + 20 * STEP}
        assert sum(len(s) for s in after) == 320 * 20
