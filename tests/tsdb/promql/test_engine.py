"""PromQL semantics against hand-computed values (derived from Prometheus's definitions).

Data is written to the embedded store; every expected number below is worked out by hand in
the comment beside it, not taken from running the engine.
"""

from __future__ import annotations

import math
import uuid

import pytest

from agentdeck.tsdb import promql
from agentdeck.tsdb.base import SampleBatch
from agentdeck.tsdb.duckdb import DuckDBStore
from agentdeck.tsdb.promql import PromQLError, PromQLUnsupported, Scalar, Vector

T = 1_700_000_000_000  # evaluation time used throughout (ms)
S = 1000


async def load(store: DuckDBStore, *series: tuple[str, dict[str, str], list[tuple[int, float]]]):
    tenant = uuid.uuid4()
    batch = SampleBatch.from_series(
        (name, labels, [t for t, _ in points], [v for _, v in points])
        for name, labels, points in series
    )
    await store.write(tenant, batch)
    return tenant


def as_dict(value: object) -> dict[tuple[tuple[str, str], ...], float]:
    assert isinstance(value, Vector)
    return {
        tuple(sorted(labels.items())): float(value.values[i, 0])
        for i, labels in enumerate(value.labels)
        if value.mask[i, 0]
    }


async def at(store: DuckDBStore, tenant: uuid.UUID, query: str, t: int = T) -> dict:
    return as_dict(await promql.instant_query(store, tenant, query, t))


def key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


# --- selectors -------------------------------------------------------------------------------


async def test_lookback_is_five_minutes_left_open(duckdb_store: DuckDBStore) -> None:
    tenant = await load(
        duckdb_store,
        ("g", {"a": "fresh"}, [(T - 60 * S, 1.0), (T, 2.0)]),
        ("g", {"a": "edge"}, [(T - 300 * S, 3.0)]),  # exactly 5m old: outside (t-5m, t]
        ("g", {"a": "inside"}, [(T - 299 * S, 4.0)]),
        ("g", {"a": "future"}, [(T + S, 5.0)]),
    )
    assert await at(duckdb_store, tenant, "g") == {
        key(__name__="g", a="fresh"): 2.0,
        key(__name__="g", a="inside"): 4.0,
    }


async def test_matchers_and_offset(duckdb_store: DuckDBStore) -> None:
    tenant = await load(
        duckdb_store,
        ("g", {"a": "x", "b": "1"}, [(T - 120 * S, 10.0), (T, 20.0)]),
        ("g", {"a": "y", "b": "2"}, [(T, 30.0)]),
        ("g", {"a": "zz"}, [(T, 40.0)]),
    )
    assert await at(duckdb_store, tenant, 'g{a="x"}') == {key(__name__="g", a="x", b="1"): 20.0}
    assert set(await at(duckdb_store, tenant, 'g{a!="x"}')) == {
        key(__name__="g", a="y", b="2"),
        key(__name__="g", a="zz"),
    }
    assert set(await at(duckdb_store, tenant, 'g{a=~"x|y"}')) == {
        key(__name__="g", a="x", b="1"),
        key(__name__="g", a="y", b="2"),
    }
    assert set(await at(duckdb_store, tenant, 'g{a!~"x|y"}')) == {key(__name__="g", a="zz")}
    # offset 1m looks at T-60s: only the sample at T-120s is within (T-6m, T-1m].
    assert await at(duckdb_store, tenant, "g offset 1m") == {key(__name__="g", a="x", b="1"): 10.0}
    # @ pins the evaluation time.
    assert await at(duckdb_store, tenant, f"g @ {(T - 100 * S) / 1000}") == {
        key(__name__="g", a="x", b="1"): 10.0
    }


# --- rate, increase, delta: Prometheus extrapolation -----------------------------------------


async def test_increase_and_rate_extrapolate_to_the_window(duckdb_store: DuckDBStore) -> None:
    # Window (T-60s, T]; samples at -50, -35, -20, -5 s. Sampled interval 45 s, average
    # spacing 15 s (threshold 16.5 s); 10 s to the start and 5 s to the end are both under
    # it, so the increase of 30 is stretched to the whole 60 s: 30 * 60/45 = 40; rate 40/60.
    tenant = await load(
        duckdb_store,
        (
            "c",
            {},
            [(T - 50 * S, 100.0), (T - 35 * S, 110.0), (T - 20 * S, 120.0), (T - 5 * S, 130)],
        ),
    )
    assert await at(duckdb_store, tenant, "increase(c[1m])") == {(): pytest.approx(40.0)}
    assert await at(duckdb_store, tenant, "rate(c[1m])") == {(): pytest.approx(40.0 / 60)}
    assert await at(duckdb_store, tenant, "delta(c[1m])") == {(): pytest.approx(40.0)}


async def test_counter_reset_adds_the_value_before_the_drop(duckdb_store: DuckDBStore) -> None:
    # 100, 110, 5, 15: raw increase 15 - 100 + 110 (the drop) = 25; stretched by 60/45.
    tenant = await load(
        duckdb_store,
        ("c", {}, [(T - 50 * S, 100.0), (T - 35 * S, 110.0), (T - 20 * S, 5.0), (T - 5 * S, 15.0)]),
    )
    assert await at(duckdb_store, tenant, "increase(c[1m])") == {(): pytest.approx(25 * 60 / 45)}
    # delta ignores resets: (15 - 100) * 60/45.
    assert await at(duckdb_store, tenant, "delta(c[1m])") == {(): pytest.approx(-85 * 60 / 45)}
    # irate: the last two samples, 5 -> 15 over 15 s.
    assert await at(duckdb_store, tenant, "irate(c[1m])") == {(): pytest.approx(10 / 15)}
    assert await at(duckdb_store, tenant, "resets(c[1m])") == {(): 1.0}


async def test_counter_extrapolation_stops_at_zero(duckdb_store: DuckDBStore) -> None:
    # 1, 31, 61, 91: increase 90 over 45 s; the counter would reach zero 45 * 1/90 = 0.5 s
    # before the first sample, closer than the 10 s to the window start, so the start is
    # extended by 0.5 s only: 90 * (45 + 0.5 + 5) / 45 = 101.
    tenant = await load(
        duckdb_store,
        ("c", {}, [(T - 50 * S, 1.0), (T - 35 * S, 31.0), (T - 20 * S, 61.0), (T - 5 * S, 91.0)]),
    )
    assert await at(duckdb_store, tenant, "increase(c[1m])") == {(): pytest.approx(101.0)}


async def test_far_boundaries_extend_by_half_a_spacing(duckdb_store: DuckDBStore) -> None:
    # Gauge at -30, -20, -10 s: spacing 10 s, threshold 11 s. The start is 30 s away (too far:
    # extend by 5 s), the end 10 s (close: extend fully). delta = 20 * (20 + 5 + 10)/20 = 35.
    points = [(T - 30 * S, 0.0), (T - 20 * S, 10.0), (T - 10 * S, 20.0)]
    tenant = await load(duckdb_store, ("g", {}, points))
    assert await at(duckdb_store, tenant, "delta(g[1m])") == {(): pytest.approx(35.0)}
    # A single sample has no rate.
    single = await load(duckdb_store, ("g", {}, [(T - 10 * S, 1.0)]))
    assert await at(duckdb_store, single, "rate(g[1m])") == {}


# --- *_over_time ----------------------------------------------------------------------------


async def test_over_time_functions(duckdb_store: DuckDBStore) -> None:
    # Window (T-60s, T] holds 4, 8, 1, 7 (the sample at T-60s is outside: left-open).
    points = [(T - 60 * S, 100.0), (T - 45 * S, 4.0), (T - 30 * S, 8.0), (T - 15 * S, 1.0)]
    points.append((T, 7.0))
    tenant = await load(duckdb_store, ("g", {"a": "x"}, points))
    expected = {
        "avg_over_time": 5.0,  # 20 / 4
        "sum_over_time": 20.0,
        "min_over_time": 1.0,
        "max_over_time": 8.0,
        "count_over_time": 4.0,
        "quantile_over_time(0.5,": 5.5,  # sorted 1 4 7 8: rank 1.5 -> 4 + 0.5 * 3
        "quantile_over_time(0.9,": 7.7,  # rank 2.7 -> 7 + 0.7 * 1
        "stdvar_over_time": 7.5,  # deviations 1, 3, 4, 2 -> (1 + 9 + 16 + 4) / 4
    }
    for fn, value in expected.items():
        query = f"{fn} g[1m])" if fn.endswith(",") else f"{fn}(g[1m])"
        assert await at(duckdb_store, tenant, query) == {key(a="x"): pytest.approx(value)}, query
    # last_over_time keeps the metric name; the others drop it.
    assert await at(duckdb_store, tenant, "last_over_time(g[1m])") == {
        key(__name__="g", a="x"): 7.0
    }


# --- histogram_quantile ------------------------------------------------------------------------


async def test_histogram_quantile_interpolates_in_the_bucket(duckdb_store: DuckDBStore) -> None:
    buckets = {"0.1": 10.0, "0.5": 30.0, "1": 40.0, "+Inf": 40.0}
    tenant = await load(
        duckdb_store,
        *[("h_bucket", {"job": "j", "le": le}, [(T, count)]) for le, count in buckets.items()],
    )
    # q=0.5: rank 20 lies in (0.1, 0.5] holding 20 of which 10 below: 0.1 + 0.4 * 10/20 = 0.3.
    assert await at(duckdb_store, tenant, "histogram_quantile(0.5, h_bucket)") == {
        key(job="j"): pytest.approx(0.3)
    }
    # q=0.99: rank 39.6 lies in (0.5, 1] with 10: 0.5 + 0.5 * 9.6/10 = 0.98.
    assert await at(duckdb_store, tenant, "histogram_quantile(0.99, h_bucket)") == {
        key(job="j"): pytest.approx(0.98)
    }
    value = await at(duckdb_store, tenant, "histogram_quantile(1.5, h_bucket)")
    assert value == {key(job="j"): math.inf}


# --- aggregations ------------------------------------------------------------------------------


async def fleet(store: DuckDBStore) -> uuid.UUID:
    return await load(
        store,
        ("cpu", {"agent": "a", "zone": "z1"}, [(T, 1.0)]),
        ("cpu", {"agent": "b", "zone": "z1"}, [(T, 3.0)]),
        ("cpu", {"agent": "c", "zone": "z2"}, [(T, 8.0)]),
        ("mem", {"agent": "a", "zone": "z1"}, [(T, 100.0)]),
        ("mem", {"agent": "c", "zone": "z2"}, [(T, 300.0)]),
        ("limit", {"zone": "z1"}, [(T, 2.0)]),
        ("limit", {"zone": "z2"}, [(T, 10.0)]),
    )


async def test_aggregations(duckdb_store: DuckDBStore) -> None:
    tenant = await fleet(duckdb_store)
    assert await at(duckdb_store, tenant, "sum(cpu)") == {(): 12.0}
    assert await at(duckdb_store, tenant, "sum by (zone) (cpu)") == {
        key(zone="z1"): 4.0,
        key(zone="z2"): 8.0,
    }
    assert await at(duckdb_store, tenant, "avg without (agent) (cpu)") == {
        key(zone="z1"): 2.0,
        key(zone="z2"): 8.0,
    }
    assert await at(duckdb_store, tenant, "max by (zone) (cpu)") == {
        key(zone="z1"): 3.0,
        key(zone="z2"): 8.0,
    }
    assert await at(duckdb_store, tenant, "min(cpu)") == {(): 1.0}
    assert await at(duckdb_store, tenant, "count by (zone) (cpu)") == {
        key(zone="z1"): 2.0,
        key(zone="z2"): 1.0,
    }
    assert await at(duckdb_store, tenant, "topk(2, cpu)") == {
        key(__name__="cpu", agent="c", zone="z2"): 8.0,
        key(__name__="cpu", agent="b", zone="z1"): 3.0,
    }
    assert await at(duckdb_store, tenant, "bottomk by (zone) (1, cpu)") == {
        key(__name__="cpu", agent="a", zone="z1"): 1.0,
        key(__name__="cpu", agent="c", zone="z2"): 8.0,
    }
    # 1, 3, 8: rank 0.5 * 2 = 1 -> 3; rank 0.25 * 2 = 0.5 -> 1 + 0.5 * 2 = 2.
    assert await at(duckdb_store, tenant, "quantile(0.5, cpu)") == {(): 3.0}
    assert await at(duckdb_store, tenant, "quantile(0.25, cpu)") == {(): 2.0}


# --- binary operators ----------------------------------------------------------------------------


async def test_scalar_and_comparison_operators(duckdb_store: DuckDBStore) -> None:
    tenant = await fleet(duckdb_store)
    assert await at(duckdb_store, tenant, 'cpu{agent="a"} * 2 + 1') == {
        key(agent="a", zone="z1"): 3.0
    }
    # A filter keeps the name and the value; bool drops the name and answers 0/1.
    assert await at(duckdb_store, tenant, "cpu > 2") == {
        key(__name__="cpu", agent="b", zone="z1"): 3.0,
        key(__name__="cpu", agent="c", zone="z2"): 8.0,
    }
    assert await at(duckdb_store, tenant, "2 < cpu") == {
        key(__name__="cpu", agent="b", zone="z1"): 3.0,
        key(__name__="cpu", agent="c", zone="z2"): 8.0,
    }
    assert await at(duckdb_store, tenant, 'cpu{agent="a"} > bool 2') == {
        key(agent="a", zone="z1"): 0.0
    }
    value = await promql.instant_query(duckdb_store, tenant, "1 + 2 * 3", T)
    assert isinstance(value, Scalar) and value.values.tolist() == [7.0]
    with pytest.raises(PromQLError, match="(?i)bool"):
        await promql.instant_query(duckdb_store, tenant, "1 > 2", T)


async def test_vector_matching(duckdb_store: DuckDBStore) -> None:
    tenant = await fleet(duckdb_store)
    # One-to-one on all labels but the name: only agents with both cpu and mem.
    assert await at(duckdb_store, tenant, "mem / cpu") == {
        key(agent="a", zone="z1"): 100.0,
        key(agent="c", zone="z2"): 37.5,
    }
    assert await at(duckdb_store, tenant, "mem - on(agent) cpu") == {
        key(agent="a"): 99.0,
        key(agent="c"): 292.0,
    }
    assert await at(duckdb_store, tenant, "mem - ignoring(zone) cpu") == {
        key(agent="a"): 99.0,
        key(agent="c"): 292.0,
    }
    # Many-to-one: each cpu series against its zone's limit.
    assert await at(duckdb_store, tenant, "cpu / on(zone) group_left limit") == {
        key(agent="a", zone="z1"): 0.5,
        key(agent="b", zone="z1"): 1.5,
        key(agent="c", zone="z2"): 0.8,
    }
    assert await at(duckdb_store, tenant, "limit * on(zone) group_right cpu") == {
        key(agent="a", zone="z1"): 2.0,
        key(agent="b", zone="z1"): 6.0,
        key(agent="c", zone="z2"): 80.0,
    }
    with pytest.raises(PromQLError, match="many-to-many"):
        await promql.instant_query(duckdb_store, tenant, "limit / on(zone) cpu", T)
    with pytest.raises(PromQLError, match="multiple matches"):
        await promql.instant_query(duckdb_store, tenant, "cpu / on(zone) limit", T)


async def test_set_operators(duckdb_store: DuckDBStore) -> None:
    tenant = await fleet(duckdb_store)
    assert set(await at(duckdb_store, tenant, "cpu and on(agent) mem")) == {
        key(__name__="cpu", agent="a", zone="z1"),
        key(__name__="cpu", agent="c", zone="z2"),
    }
    assert set(await at(duckdb_store, tenant, "cpu unless on(agent) mem")) == {
        key(__name__="cpu", agent="b", zone="z1"),
    }
    assert await at(duckdb_store, tenant, 'cpu{agent="a"} or on(agent) mem') == {
        key(__name__="cpu", agent="a", zone="z1"): 1.0,
        key(__name__="mem", agent="c", zone="z2"): 300.0,
    }


async def test_functions(duckdb_store: DuckDBStore) -> None:
    tenant = await load(duckdb_store, ("g", {"a": "x"}, [(T, -2.6)]))
    assert await at(duckdb_store, tenant, "abs(g)") == {key(a="x"): 2.6}
    assert await at(duckdb_store, tenant, "clamp_min(g, -1)") == {key(a="x"): -1.0}
    assert await at(duckdb_store, tenant, "clamp_max(g, -3)") == {key(a="x"): -3.0}
    assert await at(duckdb_store, tenant, "round(g)") == {key(a="x"): -3.0}
    assert await at(duckdb_store, tenant, "round(g, 0.5)") == {key(a="x"): -2.5}
    assert await at(duckdb_store, tenant, "-g") == {key(a="x"): 2.6}
    value = await promql.instant_query(duckdb_store, tenant, "scalar(g)", T)
    assert isinstance(value, Scalar) and value.values.tolist() == [-2.6]


# --- range queries -------------------------------------------------------------------------------


async def test_range_query_steps_from_start(duckdb_store: DuckDBStore) -> None:
    tenant = await load(duckdb_store, ("g", {}, [(T, 1.0), (T + 60 * S, 2.0), (T + 400 * S, 3.0)]))
    value = await promql.range_query(duckdb_store, tenant, "g", T - 30 * S, T + 420 * S, 90 * S)
    assert isinstance(value, Vector)
    # Steps at T-30, T+60, T+150, T+240, T+330, T+420: nothing before T; the T+60 sample
    # serves T+60..T+330 (within 5m); T+420 sees the T+400 sample.
    assert value.mask[0].tolist() == [False, True, True, True, True, True]
    assert value.values[0, 1:].tolist() == [2.0, 2.0, 2.0, 2.0, 3.0]


async def test_unsupported_and_bad_queries(duckdb_store: DuckDBStore) -> None:
    tenant = await fleet(duckdb_store)
    with pytest.raises(PromQLUnsupported, match="subqueries"):
        await promql.instant_query(duckdb_store, tenant, "max_over_time(cpu[10m:1m])", T)
    with pytest.raises(PromQLUnsupported, match="label_replace"):
        query = 'label_replace(cpu, "a", "b", "c", "d")'
        await promql.instant_query(duckdb_store, tenant, query, T)
    with pytest.raises(PromQLError, match="parse error"):
        await promql.instant_query(duckdb_store, tenant, "sum(", T)
    with pytest.raises(PromQLError, match="11,000"):
        await promql.range_query(duckdb_store, tenant, "cpu", 0, 11_000 * S, S)
