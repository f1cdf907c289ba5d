"""Sums, means and their aggregations are exact to the last place or two, and each series'
answer is its own: other series in the same query never change it (issue 13).

The engine runs over both stores. Expected values come from the samples each store gives
back (``Store.select``: VictoriaMetrics keeps floats to about 15 digits), added with
``math.fsum`` one series and one window at a time, never from the engine.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentdeck.tsdb import promql
from agentdeck.tsdb.base import Matcher, SampleBatch, Series, Store
from agentdeck.tsdb.promql import Vector

EPS = sys.float_info.epsilon
T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z
SCRAPE = 15_000
WINDOW = 300_000  # [5m]: (t - 5m, t] holds 20 samples at the scrape interval


async def load(store: Store, name: str, series: Sequence[tuple[dict[str, str], list[float]]]):
    tenant = uuid.uuid4()
    batch = SampleBatch.from_series(
        (name, labels, np.arange(len(values)) * SCRAPE + T0, np.array(values))
        for labels, values in series
    )
    await store.write(tenant, batch)
    await store.flush()
    return tenant


def by_labels(value: object, step: int = 0) -> dict[tuple[tuple[str, str], ...], float]:
    assert isinstance(value, Vector)
    return {
        tuple(sorted(labels.items())): float(value.values[i, step])
        for i, labels in enumerate(value.labels)
        if value.mask[i, step]
    }


async def test_a_constant_series_averages_to_exactly_itself_beside_others(store: Store) -> None:
    # Before: one running sum over all series of the query, so agent b's window carried the
    # rounding of every sample of agent a before it: 1399.9999999999998 / 69.99999999999999.
    a = [50.0, 44.9, 79.9, 23.6, 32.0, 80.0, 50.7, 50.6, 23.6, 1.5, 93.3, 8.6, 84.5, 36.8]
    a += [95.1, 39.9, 93.6, 55.6, 24.0, 74.1, 67.4]
    tenant = await load(
        store,
        "agent_cpu_percent",
        [
            ({"agent": "a"}, a),
            ({"agent": "b"}, [70.0] * 21),
            ({"agent": "c"}, [1.0e9 + 0.25 * i for i in range(21)]),
        ],
    )
    t = T0 + 20 * SCRAPE  # the window (t - 5m, t] holds each series' last 20 samples
    means = by_labels(
        await promql.instant_query(store, tenant, "avg_over_time(agent_cpu_percent[5m])", t)
    )
    sums = by_labels(
        await promql.instant_query(store, tenant, "sum_over_time(agent_cpu_percent[5m])", t)
    )
    assert means[(("agent", "b"),)] == 70.0
    assert sums[(("agent", "b"),)] == 1400.0  # 20 × 70
    firing = by_labels(
        await promql.instant_query(store, tenant, "avg_over_time(agent_cpu_percent[5m]) >= 70", t)
    )
    assert set(firing) == {(("agent", "b"),), (("agent", "c"),)}
    # the same over a range: every window of b holds only 70
    over_range = await promql.range_query(
        store, tenant, "avg_over_time(agent_cpu_percent[5m])", T0, t, SCRAPE
    )
    assert isinstance(over_range, Vector)
    [row] = [i for i, labels in enumerate(over_range.labels) if labels == {"agent": "b"}]
    assert over_range.mask[row].all() and (over_range.values[row] == 70.0).all()


async def test_avg_of_equal_members_is_that_value(store: Store) -> None:
    tenant = await load(
        store, "g", [({"s": str(i), "z": "x"}, [0.1] * 3) for i in range(3)] + [({"s": "9"}, [5.0])]
    )
    t = T0 + 2 * SCRAPE
    # 0.1 + 0.1 + 0.1 rounds to 0.30000000000000004, and that over 3 is not 0.1
    assert by_labels(await promql.instant_query(store, tenant, "avg by (z) (g)", t)) == {
        (("z", "x"),): 0.1,
        (): 5.0,
    }


# --- property: every answer is the exactly rounded one, give or take a last place or two ---

# Values of every magnitude; a series is arbitrary, constant, or a gauge wandering around a
# level (most metrics), so that windows cancel, repeat one value or carry a large offset.
finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_subnormal=False)
series_values = st.integers(min_value=3, max_value=40).flatmap(
    lambda n: st.one_of(
        st.lists(finite, min_size=n, max_size=n),
        finite.map(lambda v: [v] * n),
        st.tuples(finite, st.lists(st.floats(-1, 1), min_size=n, max_size=n)).map(
            lambda level: [level[0] * (1 + 1e-3 * d) + d for d in level[1]]
        ),
    )
)
datasets = st.lists(series_values, min_size=2, max_size=4)
aggregated = st.lists(series_values, min_size=2, max_size=9)


def _close(got: float, exact: float, rel: float, absolute: float) -> bool:
    return math.isclose(got, exact, rel_tol=rel, abs_tol=absolute + 1e-300)


def _window(series: Series, t: int) -> np.ndarray:
    inside = (series.timestamps > t - WINDOW) & (series.timestamps <= t)
    return np.asarray(series.values[inside])


async def _read(store: Store, tenant: uuid.UUID) -> dict[str, Series]:
    found = await store.select(tenant, [Matcher("__name__", "=", "m")], T0 - WINDOW, T0 + 10**8)
    return {s.labels["s"]: s for s in found}


@given(data=datasets)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_over_time_answers_are_exact_and_per_series(store: Store, data) -> None:
    tenant = await load(store, "m", [({"s": str(i)}, values) for i, values in enumerate(data)])
    stored = await _read(store, tenant)
    end = T0 + (max(len(v) for v in data) - 1) * SCRAPE
    for fn in ("sum_over_time", "avg_over_time"):
        query = f"{fn}(m[5m])"
        instant = await promql.instant_query(store, tenant, query, end)
        spanned = await promql.range_query(store, tenant, query, T0, end, SCRAPE)
        assert isinstance(instant, Vector) and isinstance(spanned, Vector)
        for s, series in stored.items():
            key = (("s", s),)
            # each series alone: the very same answers, to the last bit
            alone_query = f'{fn}(m{{s="{s}"}}[5m])'
            alone = await promql.range_query(store, tenant, alone_query, T0, end, SCRAPE)
            assert isinstance(alone, Vector)
            [row] = [i for i, labels in enumerate(spanned.labels) if labels == {"s": s}]
            assert np.array_equal(alone.values[0], spanned.values[row])
            assert np.array_equal(alone.mask[0], spanned.mask[row])
            # ... and the exactly rounded sum (mean), within a last place or two
            magnitude = math.fsum(np.abs(series.values))
            second_order = len(series.values) ** 2 * EPS**2 * magnitude
            for step, t in enumerate(range(T0, end + 1, SCRAPE)):
                window = _window(series, t)
                if len(window) == 0:
                    assert not spanned.mask[row, step]
                    continue
                got = float(spanned.values[row, step])
                if t == end:
                    assert by_labels(instant)[key] == got
                exact = math.fsum(window)
                if fn == "sum_over_time" and (window == window[0]).all():
                    assert got == len(window) * window[0]
                elif fn == "sum_over_time":
                    assert _close(got, exact, 2 * EPS, second_order), (s, t, got, exact)
                elif (window == window[0]).all():
                    assert got == window[0]
                else:
                    mean = exact / len(window)
                    assert _close(got, mean, 4 * EPS, second_order / len(window)), (s, t, got)


@given(data=aggregated)
@example(data=[[1e9] * 3, [1.0] * 3, [0.1] * 3, [2.0] * 3, [-1e9] * 3])  # 1e9 + 0.1 - 1e9
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_aggregations_are_exact_and_per_group(store: Store, data) -> None:
    series = [({"s": str(i), "g": "ab"[i % 2]}, values) for i, values in enumerate(data)]
    tenant = await load(store, "m", series)
    stored = await _read(store, tenant)
    end = T0 + (max(len(v) for v in data) - 1) * SCRAPE
    for t in range(end - 2 * SCRAPE, end + 1, SCRAPE):
        latest = {  # the instant value of each series: its last sample in (t - 5m, t]
            s: (found.labels["g"], float(window[-1]))
            for s, found in stored.items()
            if len(window := _window(found, t))
        }
        for group in ("a", "b"):
            members = np.array([v for g, v in latest.values() if g == group])
            key = (("g", group),)
            sums = by_labels(await promql.instant_query(store, tenant, "sum by (g) (m)", t))
            means = by_labels(await promql.instant_query(store, tenant, "avg by (g) (m)", t))
            if len(members) == 0:
                assert key not in sums and key not in means
                continue
            # the group alone: the very same answers
            alone = f'sum(m{{g="{group}"}})'
            assert by_labels(await promql.instant_query(store, tenant, alone, t)) == {(): sums[key]}
            alone = f'avg(m{{g="{group}"}})'
            assert by_labels(await promql.instant_query(store, tenant, alone, t)) == {
                (): means[key]
            }
            exact = math.fsum(members)
            second_order = len(members) ** 2 * EPS**2 * math.fsum(np.abs(members))
            assert _close(sums[key], exact, 2 * EPS, second_order), (group, sums[key], exact)
            if (members == members[0]).all():
                assert means[key] == members[0]
            else:
                mean = exact / len(members)
                assert _close(means[key], mean, 4 * EPS, second_order / len(members))
