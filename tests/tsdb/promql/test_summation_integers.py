"""The plain-sum fast path for whole numbers: exact, and the same answer for a series whether
or not other series of the query send it down the general path."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdeck.tsdb.promql.summation import group_sums, window_means, window_sums

whole = st.integers(-(2**40), 2**40).map(float)
integer_series = st.lists(st.lists(whole, min_size=1, max_size=30), min_size=1, max_size=5)


def _windows(series: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All samples, the offsets, and per series every window of up to 7 trailing samples."""
    vals = np.array([v for s in series for v in s])
    offsets = np.cumsum([0] + [len(s) for s in series])
    steps = max(len(s) for s in series)
    hi = np.array(
        [
            [o + min(k + 1, len(s)) for k in range(steps)]
            for o, s in zip(offsets[:-1], series, strict=True)
        ]
    )
    lo = np.maximum(hi - 7, offsets[:-1, None])
    return vals, offsets, lo, hi


@given(series=integer_series)
@settings(max_examples=200, deadline=None)
def test_whole_numbers_sum_exactly_alone_and_beside_fractions(series: list[list[float]]) -> None:
    vals, offsets, lo, hi = _windows(series)
    sums, means = window_sums(vals, offsets, lo, hi), window_means(vals, offsets, lo, hi)
    for s in range(len(series)):
        for k in range(lo.shape[1]):
            window = vals[lo[s, k] : hi[s, k]]
            assert sums[s, k] == math.fsum(window)
            assert means[s, k] == math.fsum(window) / len(window)
    # the same series beside one of fractions (the general way): the same answers, bit for bit
    mixed = [*series, [0.1, 1e-7, 3.3]]
    vals2, offsets2, lo2, hi2 = _windows(mixed)
    n = len(series)
    steps = lo.shape[1]
    assert np.array_equal(window_sums(vals2, offsets2, lo2, hi2)[:n, :steps], sums)
    assert np.array_equal(window_means(vals2, offsets2, lo2, hi2)[:n, :steps], means)


@given(rows=st.lists(st.lists(whole, min_size=2, max_size=2), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_whole_number_groups_sum_exactly(rows: list[list[float]]) -> None:
    values = np.array(rows)
    starts = np.arange(0, len(rows), 3)
    sums = group_sums(values, starts)
    for g, start in enumerate(starts):
        for column in range(2):
            assert sums[g, column] == math.fsum(values[start : start + 3, column])
    beside = np.vstack([values, [[0.1, 1e-9]]])
    assert np.array_equal(group_sums(beside, np.append(starts, len(rows)))[:-1], sums)


def test_large_integers_take_the_general_way() -> None:
    # 2^53 + 1 is not a float: the sum of 2^53 and 1 and 1 must not lose the ones
    vals = np.array([2.0**53, 1.0, 1.0])
    offsets = np.array([0, 3])
    assert window_sums(vals, offsets, np.array([[0]]), np.array([[3]]))[0, 0] == 2.0**53 + 2
