"""The ingest core on a real store: the series cap sees series written before this process."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import orjson
import pytest

from agentdeck.ingest import series as _series_cache
from agentdeck.ingest.core import RawSample, ingest, ingest_columns, ingest_stats
from agentdeck.ingest.decoders import json as service
from agentdeck.ingest.decoders.json_columns import ColumnBatch
from agentdeck.overview.service import WINDOW_SECONDS, overview_of
from agentdeck.overview.service import attach as attach_overview
from agentdeck.settings import TSDBSettings
from agentdeck.tsdb.base import Matcher, MatchOp, SampleBatch
from agentdeck.tsdb.duckdb import DuckDBStore
from tests.ingest.ingest_support import now_ms


async def test_series_already_in_the_store_keep_flowing_at_the_cap(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    t = now_ms()
    path = tmp_path / "m.duckdb"
    store = await DuckDBStore.open(path)
    # Written by "another process": this ingest state has never seen these series.
    await store.write(
        tenant,
        SampleBatch.from_rows(["m", "m"], [{"s": "0"}, {"s": "1"}], [t - 1000, t - 1000], [1, 1]),
    )
    await store.close()
    store = await DuckDBStore.open(path)
    try:
        settings = TSDBSettings(max_active_series=2)
        samples = [
            RawSample("m", {"s": "new"}, 5.0, t, 0),
            RawSample("m", {"s": "0"}, 5.0, t, 1),
            RawSample("m", {"s": "1"}, 5.0, t, 2),
        ]
        result = await ingest(
            store=store,
            session=None,  # type: ignore[arg-type]  # no metadata: the session is not used
            settings=settings,
            tenant_id=tenant,
            samples=samples,
        )
        assert (result.accepted, result.rejected) == (2, 1)
        assert [(e.index, e.field) for e in result.errors] == [(0, "name")]
        assert "limit of 2 active series" in result.errors[0].message
        series = await store.select(tenant, [Matcher("__name__", MatchOp.eq, "m")], 0, t + 1)
        assert [(s.labels["s"], len(s)) for s in series] == [("0", 2), ("1", 2)]
        stats = ingest_stats(store)
        assert (stats.accepted, dict(stats.rejected)) == (2, {"series_limit": 1})
    finally:
        await store.close()


async def test_histogram_index_is_shared_and_infinities_are_kept(tmp_path: Path) -> None:
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    tenant = uuid.uuid4()
    t = now_ms()
    try:
        result = await ingest(
            store=store,
            session=None,  # type: ignore[arg-type]
            settings=TSDBSettings(),
            tenant_id=tenant,
            samples=[
                RawSample("h_bucket", {"le": "+Inf"}, float("inf"), t, 0),
                RawSample("h_sum", {}, float("nan"), t, 0),
                RawSample("h_count", {}, 3.0, None, 0),
            ],
        )
        assert (result.accepted, result.rejected) == (2, 1)
        assert [(e.index, e.field, e.message) for e in result.errors] == [
            (0, "value", "value is NaN, which cannot be stored")
        ]
    finally:
        await store.close()


async def test_columns_stay_exact_when_the_label_caches_are_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tenant sending more label sets than the core remembers: the caches are cleared and
    # refilled between requests, and every sample still lands in its own series.
    monkeypatch.setattr(_series_cache, "LABEL_CACHE_MAX", 10)
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    tenant = uuid.uuid4()
    t = now_ms()
    try:
        for round_ in range(3):
            body = orjson.dumps(
                {
                    "samples": [
                        {
                            "name": name,
                            "value": float(round_ * 100 + agent),
                            "timestamp": t - 10_000 + round_,
                            "labels": {"agent": f"a{agent}"},
                        }
                        for agent in range(12)
                        for name in ("up", "cpu")
                    ]
                }
            )
            parsed = service.read_batch(body, max_samples=10_000, now_ms=t)
            assert isinstance(parsed, ColumnBatch)
            result = await ingest_columns(
                store=store,
                session=None,  # type: ignore[arg-type]
                settings=TSDBSettings(),
                tenant_id=tenant,
                columns=parsed.columns,
                now_ms=t,
            )
            assert (result.accepted, result.rejected) == (24, 0)
        series = await store.select(tenant, [Matcher("__name__", MatchOp.re, ".+")], 0, t + 1)
        assert len(series) == 24
        for s in series:
            agent = int(s.labels["agent"][1:])
            assert s.values.tolist() == [float(r * 100 + agent) for r in range(3)]
        assert (await store.stats()).series == 24
    finally:
        await store.close()


async def test_the_overview_counts_the_agents_of_written_series_batch_after_batch(
    tmp_path: Path,
) -> None:
    # The overview listener remembers series by key object: the same series sent again, new
    # series beside them, series without an agent and another tenant are all counted right.
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    attach_overview(store)
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    t = now_ms()

    async def send(tenant: uuid.UUID, *series: tuple[str, dict[str, str]]) -> None:
        samples = [RawSample(name, labels, 1.0, t, i) for i, (name, labels) in enumerate(series)]
        result = await ingest(
            store=store,
            session=None,  # type: ignore[arg-type]
            settings=TSDBSettings(),
            tenant_id=tenant,
            samples=samples,
        )
        assert result.rejected == 0

    try:
        await send(mine, ("up", {"agent": "a"}), ("cpu", {"agent": "a", "zone": "z"}))
        await send(mine, ("up", {"agent": "a"}), ("up", {"agent": "b"}), ("up", {"job": "j"}))
        await send(mine, ("up", {"agent": "b"}))
        await send(theirs, ("up", {"agent": "c"}))
        overview = overview_of(store)
        clock = time.time()
        assert sorted(overview.rates(mine, clock)[2]) == ["a", "b"]
        assert overview.rates(theirs, clock)[2] == ["c"]
        assert overview.rates(mine, clock)[0] == 6 / WINDOW_SECONDS
    finally:
        await store.close()
