"""The Store contract: every test runs against the DuckDB store and real VictoriaMetrics.

Where the two backends intentionally differ (value precision, negative zero, the time
granularity of the label APIs) the test says so and checks each side's documented behaviour.
"""

from __future__ import annotations

import asyncio
import struct
import uuid

import numpy as np
import pytest

from agentdeck.tsdb.base import (
    InvalidMatcher,
    Matcher,
    SampleBatch,
    Series,
    SeriesKey,
    Store,
    matches_series,
    next_series_tag,
)
from agentdeck.tsdb.names import MAX_LABEL_VALUE_BYTES

from .data import DAY, STEP, T0, GeneratedSeries, batch_of, fleet, interleaved_batches

END = T0 + DAY - 1


def bits(values: np.ndarray) -> list[int]:
    return [struct.unpack("<Q", struct.pack("<d", v))[0] for v in values.tolist()]


def by_key(result: list[Series]) -> dict[SeriesKey, Series]:
    return {s.key: s for s in result}


async def test_ping_answers_from_the_backend(store: Store) -> None:
    await store.ping()  # raises StoreError when the backend does not answer


async def test_round_trip_is_exact(store: Store) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=6, points=50)
    result = await store.write(tenant, batch_of(data))
    assert result.samples == sum(len(s.timestamps) for s in data)

    got = by_key(await store.select(tenant, [Matcher("agent", "=~", ".+")], T0, END))
    assert set(got) == {s.key for s in data}
    for want in data:
        series = got[want.key]
        assert series.name == want.name and series.labels == want.labels
        assert series.timestamps.tolist() == want.timestamps.tolist()
        assert bits(series.values) == bits(want.values)  # bit for bit


async def test_select_orders_series_by_labels_and_samples_by_time(store: Store) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=5, points=30)
    for batch in reversed(interleaved_batches(data, 17)):  # written newest first, in pieces
        await store.write(tenant, batch)
    result = await store.select(tenant, [Matcher.name_is("cpu_percent")], T0, END)
    assert [s.key for s in result] == sorted(s.key for s in data if s.name == "cpu_percent")
    for series in result:
        assert np.all(np.diff(series.timestamps) > 0)
        assert len(series) == 30


async def test_special_values(store: Store) -> None:
    tenant = uuid.uuid4()
    values = [0.0, -0.0, float("inf"), float("-inf"), 1.5, -2.25, 123456.75]
    timestamps = [T0 + i * STEP for i in range(len(values))]
    await store.write(tenant, SampleBatch.from_series([("special", {}, timestamps, values)]))
    (series,) = await store.select(tenant, [Matcher.name_is("special")], T0, END)
    assert series.timestamps.tolist() == timestamps
    got = series.values.tolist()
    assert got[2] == float("inf") and got[3] == float("-inf")
    assert got[4:] == values[4:]
    assert got[0] == 0.0 and got[1] == 0.0
    negative_zero_kept = store.backend == "duckdb"  # VictoriaMetrics stores -0 as 0
    assert bool(np.signbit(series.values[1])) is negative_zero_kept
    assert not np.signbit(series.values[0])


async def test_arbitrary_doubles(store: Store) -> None:
    """DuckDB keeps any float64 bit for bit; VictoriaMetrics keeps 12 significant digits.

    VictoriaMetrics encodes each block of a series as decimals with one shared exponent,
    so its error is bounded relative to the largest magnitude in the series.
    """
    tenant = uuid.uuid4()
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 2**64, 400, dtype=np.uint64).view(np.float64)
    values = raw[np.isfinite(raw)][:300]
    small = rng.normal(0, 1000, 300)
    timestamps = T0 + np.arange(300, dtype=np.int64) * STEP
    await store.write(
        tenant,
        SampleBatch.from_series(
            [("random_bits", {}, timestamps, values), ("random_normal", {}, timestamps, small)]
        ),
    )
    for name, want in (("random_bits", values), ("random_normal", small)):
        (series,) = await store.select(tenant, [Matcher.name_is(name)], T0, END)
        assert series.timestamps.tolist() == timestamps.tolist()
        if store.backend == "duckdb":
            assert bits(series.values) == bits(want)
        else:
            tolerance = 1e-11 * float(np.max(np.abs(want)))
            assert np.all(np.abs(series.values - want) <= tolerance)


async def test_label_values_with_special_characters(store: Store) -> None:
    tenant = uuid.uuid4()
    odd = {
        "quote": 'say "hi"',
        "backslash": "C:\\path\\to",
        "unicode": "naïve — ünïcödé ✓",
        "braces": '{a="b"},c',
        "long": "x" * MAX_LABEL_VALUE_BYTES,
        "values_like": '"values":[1],"timestamps":[2]',
        "newline": "line one\nline two",
    }
    await store.write(tenant, SampleBatch.from_series([("odd", odd, [T0], [1.0])]))
    (series,) = await store.select(tenant, [Matcher.name_is("odd")], T0, END)
    assert series.labels == odd
    for name, value in odd.items():
        found = await store.select(tenant, [Matcher(name, "=", value)], T0, END)
        assert [s.labels for s in found] == [odd]
    assert await store.label_values(tenant, "quote") == ['say "hi"']


SELECTORS: list[list[Matcher]] = [
    [Matcher("__name__", "=", "cpu_percent")],
    [Matcher("__name__", "=", "cpu_percent"), Matcher("agent", "=", "agent-003")],
    [Matcher("__name__", "!=", "cpu_percent"), Matcher("region", "=", "eu-west")],
    [Matcher("__name__", "=~", "cpu.*|memory_percent")],
    [Matcher("__name__", "=~", "cpu")],  # anchored: matches nothing
    [Matcher("__name__", "=~", "percent")],  # anchored: no substring match
    [Matcher("__name__", "=~", ".*percent")],
    [Matcher("__name__", "!~", ".*percent"), Matcher("agent", "=~", "agent-00[0-4]")],
    [Matcher("agent", "=~", "agent-0(0[5-9]|1.)")],
    [Matcher("region", "!~", "eu-.*|us-.*"), Matcher("__name__", "=", "latency_ms")],
    [Matcher("canary", "=", "yes"), Matcher("__name__", "=", "requests_total")],
    [Matcher("canary", "=", ""), Matcher("__name__", "=", "requests_total")],  # label absent
    [Matcher("canary", "!=", ""), Matcher("__name__", "=", "requests_total")],  # label present
    [Matcher("canary", "=~", "yes|"), Matcher("__name__", "=", "latency_ms")],  # both
    [Matcher("canary", "!~", "yes"), Matcher("__name__", "=", "latency_ms")],
    [Matcher("missing", "=", ""), Matcher("__name__", "=", "cpu_percent")],
    [Matcher("missing", "=", "x")],
    [Matcher("agent", "=", "agent-001"), Matcher("agent", "!=", "agent-001")],
    [Matcher("region", "=~", "(?i)EU-WEST")],
]


@pytest.mark.parametrize("selector", SELECTORS, ids=lambda m: ",".join(map(str, m)))
async def test_matchers_select_the_same_series_as_the_reference(
    store: Store, selector: list[Matcher]
) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=12, points=3)
    await store.write(tenant, batch_of(data))
    want = sorted(s.key for s in data if matches_series(selector, s.key))
    got = await store.select(tenant, selector, T0, END)
    assert [s.key for s in got] == want
    assert [SeriesKey.of(m.pop("__name__"), m) for m in await store.series(tenant, selector)] == (
        want
    )


@pytest.mark.parametrize(
    "selector",
    [
        [Matcher("agent", "=~", ".*")],
        [Matcher("agent", "=", "")],
        [Matcher("agent", "!=", "x"), Matcher("region", "!~", "y")],
    ],
)
async def test_selectors_matching_everything_are_refused(
    store: Store, selector: list[Matcher]
) -> None:
    tenant = uuid.uuid4()
    await store.write(tenant, batch_of(fleet(agents=1, points=1)))
    with pytest.raises(InvalidMatcher):
        await store.select(tenant, selector, T0, END)
    with pytest.raises(InvalidMatcher):
        await store.series(tenant, selector)
    with pytest.raises(InvalidMatcher):
        await store.select(tenant, [], T0, END)


async def test_tenants_never_see_each_other(store: Store) -> None:
    tenant_a, tenant_b, tenant_c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    data_a = fleet(agents=3, points=10, seed=1)
    data_b = [
        GeneratedSeries(s.name, {**s.labels, "only_b": "1"}, s.timestamps, s.values + 1000)
        for s in fleet(agents=2, points=10, seed=2)
    ]
    await store.write(tenant_a, batch_of(data_a))
    await store.write(tenant_b, batch_of(data_b))
    everything = [Matcher("__name__", "=~", ".+")]

    got_b = by_key(await store.select(tenant_b, everything, T0, END))
    assert set(got_b) == {s.key for s in data_b}
    for s in data_b:
        assert got_b[s.key].values.tolist() == s.values.tolist()
    got_a = by_key(await store.select(tenant_a, everything, T0, END))
    assert set(got_a) == {s.key for s in data_a}
    # The same name and agent exist in both tenants; each sees only its own series.
    a_only = await store.select(tenant_a, [Matcher("only_b", "=", "1")], T0, END)
    assert a_only == []

    assert await store.select(tenant_c, everything, T0, END) == []
    assert await store.series(tenant_c, everything) == []
    assert await store.label_names(tenant_c) == []
    assert await store.label_values(tenant_c, "agent") == []
    assert await store.label_values(tenant_c, "__name__") == []
    assert "only_b" not in await store.label_names(tenant_a)
    assert "only_b" in await store.label_names(tenant_b)
    assert await store.label_values(tenant_a, "only_b") == []
    assert await store.active_series_count(tenant_c, now_ms=END) == 0
    assert await store.active_series_count(tenant_b, now_ms=T0 + 10 * STEP) == len(data_b)
    # No backend-internal label ever leaks out.
    for metric in await store.series(tenant_a, everything):
        assert set(metric) <= {"__name__", "agent", "region", "canary"}

    await store.delete_before(tenant_b, T0 + DAY)
    assert await store.select(tenant_b, everything, T0, END) == []
    assert set(by_key(await store.select(tenant_a, everything, T0, END))) == {s.key for s in data_a}


async def test_time_range_is_closed_on_both_ends(store: Store) -> None:
    tenant = uuid.uuid4()
    timestamps = [T0 + i * 1000 for i in range(10)]
    await store.write(
        tenant, SampleBatch.from_series([("tick", {}, timestamps, [float(i) for i in range(10)])])
    )
    name = [Matcher.name_is("tick")]

    async def window(start: int, end: int) -> list[int]:
        result = await store.select(tenant, name, start, end)
        return [] if not result else result[0].timestamps.tolist()

    assert await window(T0 + 2000, T0 + 5000) == timestamps[2:6]
    assert await window(T0 + 2001, T0 + 4999) == timestamps[3:5]
    assert await window(T0 + 5000, T0 + 5000) == [T0 + 5000]
    assert await window(T0 + 5001, T0 + 5999) == []
    assert await window(T0 - 10_000, T0) == [T0]
    assert await window(T0 + 9000, T0 + 99_000) == [T0 + 9000]
    assert await window(T0 + 6000, T0 + 2000) == []  # start after end


async def test_label_apis(store: Store) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=4, points=5)
    await store.write(tenant, batch_of(data))

    assert await store.label_names(tenant) == ["__name__", "agent", "canary", "region"]
    assert await store.label_names(
        tenant, [Matcher("canary", "!=", "yes"), Matcher("agent", "=~", ".+")]
    ) == [
        "__name__",
        "agent",
        "region",
    ]
    assert await store.label_values(tenant, "__name__") == sorted(
        ["cpu_percent", "memory_percent", "requests_total", "latency_ms"]
    )
    assert await store.label_values(tenant, "agent") == [f"agent-{i:03d}" for i in range(4)]
    assert await store.label_values(tenant, "canary") == ["yes"]
    assert await store.label_values(tenant, "nope") == []
    assert await store.label_values(tenant, "agent", [Matcher("region", "=", "eu-west")]) == [
        "agent-000",
        "agent-003",
    ]
    assert await store.label_values(tenant, "region", [Matcher("agent", "=", "agent-001")]) == [
        "us-east"
    ]

    series = await store.series(tenant, [Matcher("agent", "=", "agent-002")])
    assert series == sorted(
        (s.key.metric() for s in data if s.labels["agent"] == "agent-002"),
        key=lambda m: (m["__name__"], sorted(m.items())),
    )
    assert series[0] == {
        "__name__": "cpu_percent",
        "agent": "agent-002",
        "canary": "yes",
        "region": "ap-south",
    }

    # Ranges: a day without data (two days later) has no series, names or values.
    later = (T0 + 2 * DAY, T0 + 3 * DAY - 1)
    assert await store.label_names(tenant, (), *later) == []
    assert await store.label_values(tenant, "agent", (), *later) == []
    assert await store.series(tenant, [Matcher("agent", "=~", ".+")], *later) == []
    assert len(await store.series(tenant, [Matcher("agent", "=~", ".+")], T0, END)) == len(data)


async def test_delete_before_removes_old_samples_and_empty_series(store: Store) -> None:
    tenant = uuid.uuid4()
    # "old" exists only two days before the cutoff's day; "spans" runs across the cutoff.
    old_ts = [T0 - 2 * DAY + i * STEP for i in range(10)]
    spans_ts = [T0 - 2 * DAY, T0 - DAY, T0, T0 + 1000, T0 + 3_600_000, T0 + 7_200_000]
    await store.write(
        tenant,
        SampleBatch.from_series(
            [
                ("old_metric", {"kind": "old"}, old_ts, [1.0] * len(old_ts)),
                ("spans", {"kind": "spans"}, spans_ts, [float(i) for i in range(6)]),
            ]
        ),
    )
    cutoff = T0 + 1000
    await store.delete_before(tenant, cutoff)

    everything = [Matcher("kind", "=~", ".+")]
    (series,) = await store.select(tenant, everything, 0, T0 + DAY)
    assert series.name == "spans"
    assert series.timestamps.tolist() == [T0 + 1000, T0 + 3_600_000, T0 + 7_200_000]
    assert series.values.tolist() == [3.0, 4.0, 5.0]
    if store.backend == "duckdb":
        assert await store.label_values(tenant, "kind") == ["spans"]
        assert await store.label_values(tenant, "__name__") == ["spans"]
    else:
        # VictoriaMetrics keeps deleted series in its label index (not in its series API)
        # until the index rotates with -retentionPeriod: documented in docs/storage.md.
        assert set(await store.label_values(tenant, "kind")) >= {"spans"}
    assert [m["__name__"] for m in await store.series(tenant, everything)] == ["spans"]
    assert await store.active_series_count(tenant, window_ms=100 * DAY, now_ms=T0 + DAY) == 1

    # Writing again after retention works, for a deleted series too.
    await store.write(
        tenant, SampleBatch.from_series([("old_metric", {"kind": "old"}, [T0 + 5000], [9.0])])
    )
    old = await store.select(tenant, [Matcher.name_is("old_metric")], 0, T0 + DAY)
    assert [(s.timestamps.tolist(), s.values.tolist()) for s in old] == [([T0 + 5000], [9.0])]


def _tagged(keys: list[SeriesKey], tags: list[int] | None, ts: int, value: float) -> SampleBatch:
    return SampleBatch(
        tuple(keys),
        np.arange(len(keys), dtype=np.int32),
        np.full(len(keys), ts, dtype=np.int64),
        np.full(len(keys), value),
        None if tags is None else np.asarray(tags, dtype=np.int64),
    )


async def test_series_tags_find_the_same_series_as_keys(store: Store) -> None:
    """Batches with series tags (as the ingest core writes them) land in the same series as
    without: tags seen before, new tags for known keys, no tags, and a tag whose series
    retention deleted meanwhile."""
    tenant = uuid.uuid4()
    keys = [SeriesKey.of("tagged", {"i": str(i)}) for i in range(3)]
    first = [next_series_tag() for _ in keys]
    await store.write(tenant, _tagged(keys, first, T0 - 2 * DAY, 1.0))
    await store.write(tenant, _tagged(keys[::-1], first[::-1], T0, 2.0))
    await store.write(tenant, _tagged(keys, [next_series_tag() for _ in keys], T0 + 1, 3.0))
    await store.write(tenant, _tagged(keys[:2], None, T0 + 2, 4.0))
    gone = SeriesKey.of("tagged", {"i": "gone"})
    gone_tag = next_series_tag()
    for ts in (T0 - 2 * DAY, T0 - 2 * DAY + 1):  # the second time, it is found by its tag
        await store.write(tenant, _tagged([gone], [gone_tag], ts, 6.0))
    await store.delete_before(tenant, T0 + 1)  # "gone" has nothing left: its series goes
    await store.write(tenant, _tagged([keys[0], gone], [first[0], gone_tag], T0 + 3, 5.0))
    found = await store.select(tenant, [Matcher.name_is("tagged")], 0, T0 + DAY)
    assert [(s.labels["i"], s.timestamps.tolist(), s.values.tolist()) for s in found] == [
        ("0", [T0 + 1, T0 + 2, T0 + 3], [3.0, 4.0, 5.0]),
        ("1", [T0 + 1, T0 + 2], [3.0, 4.0]),
        ("2", [T0 + 1], [3.0]),
        ("gone", [T0 + 3], [5.0]),
    ]


def test_tags_must_be_one_int64_per_series() -> None:
    keys = [SeriesKey.of("m", {"i": "1"}), SeriesKey.of("m", {"i": "2"})]
    with pytest.raises(ValueError, match="one per series"):
        _tagged(keys, [next_series_tag()], T0, 1.0)
    with pytest.raises(ValueError, match="one per series"):
        SampleBatch(
            tuple(keys),
            np.zeros(2, np.int32),
            np.full(2, T0, np.int64),
            np.ones(2),
            np.ones(2, np.float64),  # type: ignore[arg-type]
        )
    assert next_series_tag() != next_series_tag()


async def test_many_series(store: Store) -> None:
    tenant = uuid.uuid4()
    metrics = ("cpu", "mem", "req", "err", "lat", "tin", "tout", "cost")
    data = fleet(agents=300, points=8, metrics=metrics)  # > 256 ids: the join read path
    for batch in interleaved_batches(data, 5000):
        await store.write(tenant, batch)
    cpu = await store.select(tenant, [Matcher.name_is("cpu")], T0, END)
    assert len(cpu) == 300
    want = {s.key: s for s in data}
    for series in cpu:
        assert series.values.tolist() == want[series.key].values.tolist()
    some = await store.select(
        tenant,
        [Matcher("agent", "=~", "agent-1[0-4][0-9]"), Matcher("__name__", "=~", "t.*")],
        T0,
        END,
    )
    assert len(some) == 50 * 2
    assert len(await store.label_values(tenant, "agent")) == 300
    assert await store.active_series_count(tenant, now_ms=T0 + 8 * STEP) == 2400


async def test_concurrent_writes_all_land(store: Store) -> None:
    tenant = uuid.uuid4()
    data = fleet(agents=8, points=20)
    batches = interleaved_batches(data, 37)
    results = await asyncio.gather(*(store.write(tenant, b) for b in batches))
    assert sum(r.samples for r in results) == sum(len(s.timestamps) for s in data)
    got = by_key(await store.select(tenant, [Matcher("agent", "=~", ".+")], T0, END))
    for s in data:
        assert got[s.key].timestamps.tolist() == s.timestamps.tolist()
        assert got[s.key].values.tolist() == s.values.tolist()


async def test_active_series_count_uses_the_newest_sample(store: Store) -> None:
    tenant = uuid.uuid4()
    await store.write(
        tenant,
        SampleBatch.from_series(
            [
                ("fresh", {}, [T0 - 7_200_000, T0 - 60_000], [1.0, 2.0]),
                ("stale", {}, [T0 - 7_200_000], [1.0]),
                ("edge", {}, [T0 - 3_000_000], [1.0]),
            ]
        ),
    )
    assert await store.active_series_count(tenant, now_ms=T0) == 2
    assert await store.active_series_count(tenant, window_ms=600_000, now_ms=T0) == 1
    assert await store.active_series_count(tenant, window_ms=3 * 3_600_000, now_ms=T0) == 3


async def test_empty_batch_is_a_no_op(store: Store) -> None:
    tenant = uuid.uuid4()
    result = await store.write(tenant, SampleBatch.empty())
    assert result.samples == 0
    assert await store.label_names(tenant) == []
