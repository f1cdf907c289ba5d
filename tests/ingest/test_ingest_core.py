"""The ingest core on a real store: the series cap sees series written before this process."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.ingest import series as _series_cache
from agentdeck.ingest.batch import Batch, KeyedColumns
from agentdeck.ingest.core import Ingestor
from agentdeck.ingest.decoders import json as service
from agentdeck.overview.service import WINDOW_SECONDS, Overview
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
        ingestor = Ingestor(store, TSDBSettings(max_active_series=2))
        samples = [
            ("m", {"s": "new"}, 5.0, t, 0),
            ("m", {"s": "0"}, 5.0, t, 1),
            ("m", {"s": "1"}, 5.0, t, 2),
        ]
        # no metadata: the session is not used
        result = await ingestor.ingest(None, tenant, Batch(samples))  # type: ignore[arg-type]
        assert (result.accepted, result.rejected) == (2, 1)
        assert [(e.index, e.field) for e in result.errors] == [(0, "name")]
        assert "limit of 2 active series" in result.errors[0].message
        series = await store.select(tenant, [Matcher("__name__", MatchOp.eq, "m")], 0, t + 1)
        assert [(s.labels["s"], len(s)) for s in series] == [("0", 2), ("1", 2)]
        stats = ingestor.stats
        assert (stats.accepted, dict(stats.rejected)) == (2, {"series_limit": 1})
    finally:
        await store.close()


async def test_histogram_index_is_shared_and_infinities_are_kept(tmp_path: Path) -> None:
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    tenant = uuid.uuid4()
    t = now_ms()
    try:
        samples = [
            ("h_bucket", {"le": "+Inf"}, float("inf"), t, 0),
            ("h_sum", {}, float("nan"), t, 0),
            ("h_count", {}, 3.0, None, 0),
        ]
        ingestor = Ingestor(store, TSDBSettings())
        result = await ingestor.ingest(None, tenant, Batch(samples))  # type: ignore[arg-type]
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
    ingestor = Ingestor(store, TSDBSettings())
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
            assert isinstance(parsed.samples, KeyedColumns)
            result = await ingestor.ingest(None, tenant, parsed)  # type: ignore[arg-type]
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
    ingestor = Ingestor(store, TSDBSettings())
    overview = Overview()
    attach_overview(ingestor, overview)
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    t = now_ms()

    async def send(tenant: uuid.UUID, *series: tuple[str, dict[str, str]]) -> None:
        samples = [(name, labels, 1.0, t, i) for i, (name, labels) in enumerate(series)]
        result = await ingestor.ingest(None, tenant, Batch(samples))  # type: ignore[arg-type]
        assert result.rejected == 0

    try:
        await send(mine, ("up", {"agent": "a"}), ("cpu", {"agent": "a", "zone": "z"}))
        await send(mine, ("up", {"agent": "a"}), ("up", {"agent": "b"}), ("up", {"job": "j"}))
        await send(mine, ("up", {"agent": "b"}))
        await send(theirs, ("up", {"agent": "c"}))
        clock = time.time()
        assert sorted(overview.rates(mine, clock)[2]) == ["a", "b"]
        assert overview.rates(theirs, clock)[2] == ["c"]
        assert overview.rates(mine, clock)[0] == 6 / WINDOW_SECONDS
    finally:
        await store.close()


async def test_rows_of_any_kind_are_refused_as_the_row_checks_say(
    tmp_path: Path, session: AsyncSession
) -> None:
    """Values that are no number, timestamps beyond int64 and unhashable label values come
    back as errors of their sample; a refused series is named before its bad value."""
    store = await DuckDBStore.open(tmp_path / "m.duckdb")
    ingestor = Ingestor(store, TSDBSettings())
    tenant = uuid.uuid4()
    t = now_ms()
    samples = [
        ("ok", {"a": "b"}, 7, t, 0),  # an int value is stored as a float
        ("bool", {}, True, t, 1),
        ("text", {}, "1", t, 2),
        ("huge", {}, 10**400, t, 3),
        ("far", {}, 1.0, 2**64, 4),
        ("bad", {"__x": "y"}, "nope", t, 5),  # the series is refused first
        ("list", {"a": [1]}, 1.0, t, 6),
        (None, {}, 1.0, t, 7),
        ("now", None, 2.0, None, 8),
    ]
    try:
        result = await ingestor.ingest(session, tenant, Batch(samples))
        assert [(e.index, e.field, e.message) for e in result.errors] == [
            (1, "value", "value must be a number"),
            (2, "value", "value must be a number"),
            (3, "value", "value must be a finite number"),
            (4, "timestamp", f"timestamp {2**64} is not a millisecond time (above 10000000000000)"),
            (5, "labels.__x", "label name '__x' starts with '__', which is reserved"),
            (6, "labels.a", "label value must be a string"),
            (7, "name", "metric name is missing"),
        ]
        assert result.accepted == 2
        series = await store.select(tenant, [Matcher("__name__", MatchOp.re, ".+")], 0, t + 10**6)
        assert [(s.name, s.values.tolist()) for s in series] == [("now", [2.0]), ("ok", [7.0])]
        assert dict(ingestor.stats.rejected) == {
            "invalid_value": 3,
            "too_far_in_future": 1,
            "invalid_label_name": 1,
            "invalid_label_value": 1,
            "missing_name": 1,
        }
    finally:
        await store.close()
