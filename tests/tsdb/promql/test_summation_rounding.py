"""Window sums are exactly rounded: bit for bit ``math.fsum`` of the window, whichever way the
engine adds them (one at a time for a few windows, split parts for windows that overlap little,
running sums for windows that overlap a lot), so a series' answer cannot depend on the series
or windows beside it. Decimal data (two decimals, as most gauges) lands exactly halfway between
two floats in about one window in seventy: those must round as ``math.fsum`` does too."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdeck.tsdb.promql.summation import window_means, window_sums

decimal = st.integers(-10_000, 10_000).map(lambda n: n / 100)
anything = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_subnormal=False)
values = st.one_of(decimal, anything, st.sampled_from([0.1, 0.2, 0.3, 1e-9, 70.0]))
series_values = st.lists(values, min_size=1, max_size=40)


def _windows(series: list[list[float]], width: int):
    """All samples, the offsets, and per series every window of ``width`` trailing samples."""
    vals = np.array([v for s in series for v in s])
    offsets = np.cumsum([0] + [len(s) for s in series])
    steps = max(len(s) for s in series)
    pairs = zip(offsets[:-1], series, strict=True)
    ends = [[o + min(k + 1, len(s)) for k in range(steps)] for o, s in pairs]
    hi = np.array(ends)
    lo = np.maximum(hi - width, offsets[:-1, None])
    return vals, offsets, lo, hi


def _check(series: list[list[float]], width: int) -> None:
    vals, offsets, lo, hi = _windows(series, width)
    sums, means = window_sums(vals, offsets, lo, hi), window_means(vals, offsets, lo, hi)
    for s in range(len(series)):
        for k in range(lo.shape[1]):
            window = vals[lo[s, k] : hi[s, k]].tolist()
            exact = math.fsum(window)
            assert sums[s, k] == exact, (window, sums[s, k], exact)
            if all(v == window[0] for v in window):
                assert means[s, k] == window[0]
            else:
                assert means[s, k] == exact / len(window)


@given(series=st.lists(series_values, min_size=1, max_size=6), width=st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_every_window_sum_is_exactly_rounded(series: list[list[float]], width: int) -> None:
    _check(series, width)


def test_many_decimal_windows_round_halfway_cases_as_fsum() -> None:
    # 40 series of 300 two-decimal samples, windows of 12 (running sums) and of 300 (split
    # parts); about 1.5 % of these windows sum to exactly halfway between two floats
    rng = np.random.default_rng(13)
    series = [list(np.round(rng.uniform(0, 100, 300), 2)) for _ in range(40)]
    _check(series, 12)
    _check(series, 300)
    # each series alone gives the same bits as beside the others
    vals, offsets, lo, hi = _windows(series, 12)
    together = window_sums(vals, offsets, lo, hi)
    alone = window_sums(*_windows(series[7:8], 12))
    assert np.array_equal(alone[0], together[7])
