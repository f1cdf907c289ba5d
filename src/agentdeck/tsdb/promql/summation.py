"""Accurate sums for the engine: the windows of ``sum_over_time`` and ``avg_over_time``, and
the groups of ``sum``, ``avg``, ``stddev`` and ``stdvar``.

A result depends on its own samples only, never on the other series of the query, and is
as accurate as adding in twice the float precision and rounding once (Prometheus uses
Kahan-Neumaier summation, which has the same bound): the error is at most about one unit
in the last place of the result plus a term of the order of n² × 1.2e-32 × the largest
magnitude added (n the number of values), which matters only when the values cancel to a
result many orders of magnitude below them. Both ways are vectorised:

* Split (groups; windows that overlap little: instant queries, ranges no longer than the
  step): every value is split exactly into a high part, a multiple of a unit chosen per
  series (per group) large enough that any sum of the high parts is exact whatever the
  order, and the small remainder (Rump, Ogita and Oishi's ExtractVector, 2008). The parts
  are added with ``np.add.reduceat``, so the windows cost their length.
* Running (windows that overlap a lot: ranges of many steps): window sums are differences
  of running sums that start again at every series' first sample, each running sum
  carrying the exact rounding errors of its additions (Knuth's TwoSum) beside it, the
  cascaded summation of Ogita, Rump and Oishi (2005). Series are padded with zeros into
  blocks by the power of two of their length (a block is at most twice its data). The
  error's second term grows with the series' length instead of the window's.

NaN and ±Inf follow IEEE addition, a sum beyond the float range is ``±Inf`` and the mean of
finite samples stays finite (added scaled down).

Fast path: when every value of the query is an integer and their magnitudes add up to less than
2⁵², every partial sum of any of them, in any order, is an integer below 2⁵³ and so exact.
Plain running sums (differences of one ``np.cumsum``) and ``np.add.reduceat`` then give every
window's (group's) exact sum, which is what the ways above give for these values too, so a
series' answer still does not depend on the series beside it. Counters, counts, bytes and
most gauges sampled as whole numbers take it.
"""

from __future__ import annotations

import math

import numpy as np

from agentdeck.tsdb.promql.values import F64, I64, Bools

OVERLAP_LIMIT = 8  # windows covering each sample more often on average: running sums
_SCALE = 2.0**-64  # exact scaling for the few sums of finite values beyond the float range
#: integers whose magnitudes add up to less than this add exactly in any order (with room for
#: the rounding of the test's own sum of magnitudes)
_EXACT_INTEGERS = 2.0**52


def window_sums(vals: F64, offsets: I64, lo: I64, hi: I64) -> F64:
    """``Σ vals[lo:hi]`` per window: ``lo``/``hi`` are (series × steps), series ``s``'s
    windows lie in ``vals[offsets[s]:offsets[s + 1]]``. A window of n samples that all
    hold one value v gives n × v, exactly rounded."""
    if _small_integers(vals):
        return _plain_window_sums(vals, lo, hi)
    sums, finite = _window_sums(vals, offsets, lo, hi)
    for i in np.flatnonzero(~np.isfinite(sums) & finite):  # beyond the float range (or near)
        sums.flat[i] = _exact_sum(vals[lo.flat[i] : hi.flat[i]])
    single = _single_valued(vals, offsets, lo, hi)
    return np.where(single, (hi - lo) * vals[np.where(single, lo, 0)], sums)


def window_means(vals: F64, offsets: I64, lo: I64, hi: I64) -> F64:
    """The mean of ``vals[lo:hi]`` per window (as :func:`window_sums`; NaN for an empty
    one). A window whose samples all hold one value gives that value exactly."""
    if _small_integers(vals):  # exact sums: n × v / n is v
        with np.errstate(invalid="ignore"):
            means: F64 = _plain_window_sums(vals, lo, hi) / (hi - lo)
        return means
    sums, finite = _window_sums(vals, offsets, lo, hi)
    count = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / count
    for i in np.flatnonzero(~np.isfinite(sums) & finite & (count > 0)):
        means.flat[i] = _finite_mean(vals[lo.flat[i] : hi.flat[i]])
    single = _single_valued(vals, offsets, lo, hi)
    return np.where(single, vals[np.where(single, lo, 0)], means)


def _small_integers(vals: F64) -> bool:
    """Whether every value is an integer and their magnitudes add up to less than 2⁵² (NaN
    and ±Inf are not): then plain float addition of any of them is exact in any order."""
    if len(vals) == 0:
        return False
    head = vals[:64]  # most fractional data shows itself in its first values: no pass over all
    if not (np.rint(head) == head).all():
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        if not np.abs(vals).sum() < _EXACT_INTEGERS:
            return False
        return bool((np.rint(vals) == vals).all())


def _plain_window_sums(vals: F64, lo: I64, hi: I64) -> F64:
    """Window sums as differences of one running sum: exact for :func:`_small_integers`."""
    running = np.zeros(len(vals) + 1)
    np.cumsum(vals, out=running[1:])
    sums: F64 = running[hi] - running[lo]
    return sums


def _single_valued(vals: F64, offsets: I64, lo: I64, hi: I64) -> Bools:
    """Whether each non-empty window's samples all hold one value."""
    single = np.zeros(lo.shape, dtype=bool)
    if len(vals) == 0:
        return single
    running = _overlapping(offsets, lo, hi)
    if not running.all():  # the windows' own largest and smallest sample
        split = np.flatnonzero(~running)
        padded, pairs = np.append(vals, 0.0), _pairs(lo[split], hi[split])
        with np.errstate(invalid="ignore"):
            top = np.maximum.reduceat(padded, pairs)[0::2].reshape(len(split), -1)
            bottom = np.minimum.reduceat(padded, pairs)[0::2].reshape(len(split), -1)
        single[split] = (top == bottom) & (hi[split] > lo[split])
    if running.any():  # no change after the window's first sample (NaN counting as one)
        changed = np.ones(len(vals), dtype=bool)
        changed[1:] = (vals[1:] != vals[:-1]) & ~(np.isnan(vals[1:]) & np.isnan(vals[:-1]))
        changes = _running_count(changed)
        ahead, end = np.minimum(lo[running] + 1, hi[running]), hi[running]
        single[running] = (end > lo[running]) & (changes[end] == changes[ahead])
    return single


def _overlapping(offsets: I64, lo: I64, hi: I64) -> Bools:
    """The series whose windows overlap a lot: summed by running sums. Each series' own
    way (never the query's), so other series cannot change its answers."""
    overlapping: Bools = (hi - lo).sum(axis=1) > OVERLAP_LIMIT * np.diff(offsets)
    return overlapping


def _pairs(lo: I64, hi: I64) -> I64:
    """``(lo, hi)`` interleaved for ``reduceat``: every other result is a window's (garbage
    for empty ones); the values need one element past the last window's end."""
    pairs: I64 = np.stack((lo.ravel(), hi.ravel()), axis=1).ravel()
    return pairs


def group_sums(rows: F64, starts: I64) -> F64:
    """Column sums of each group of consecutive ``rows`` (group ``g`` starts at row
    ``starts[g]``; ascending, the first 0): (groups × columns)."""
    if _small_integers(rows.ravel()):
        exact: F64 = np.add.reduceat(rows, starts, axis=0)
        return exact
    n = len(rows)
    sizes = np.diff(np.append(starts, n))
    finite = np.isfinite(rows)
    all_finite = bool(finite.all())
    clean = rows if all_finite else np.where(finite, rows, 0.0)
    unit = _unit(np.maximum.reduceat(np.abs(clean), starts, axis=0), sizes[:, None])
    high, low = np.empty_like(clean), np.empty_like(clean)
    _split(clean, np.repeat(unit, sizes, axis=0), high, low)
    with np.errstate(invalid="ignore"):
        sums = np.add.reduceat(high, starts, axis=0) + np.add.reduceat(low, starts, axis=0)
    if not all_finite:
        counts = (np.add.reduceat(f.astype(np.int64), starts, axis=0) for f in _specials(rows))
        sums, _ = _with_specials(sums, *counts)
    for g, column in zip(*np.nonzero(~np.isfinite(sums)), strict=True):
        values = rows[starts[g] : starts[g] + sizes[g], column]
        if np.isfinite(values).all():  # beyond the float range (or near)
            sums[g, column] = _exact_sum(values)
    return sums


def _window_sums(vals: F64, offsets: I64, lo: I64, hi: I64) -> tuple[F64, Bools]:
    """The sums, and whether each window's samples are all finite."""
    if len(vals) == 0:
        return np.zeros(lo.shape), np.ones(lo.shape, dtype=bool)
    finite = np.isfinite(vals)
    all_finite = bool(finite.all())
    clean = vals if all_finite else np.where(finite, vals, 0.0)
    count = hi - lo
    running = _overlapping(offsets, lo, hi)
    sums = np.zeros(lo.shape)
    if not running.all():
        split = np.flatnonzero(~running)
        sums[split] = _split_sums(clean, offsets, lo[split], hi[split])
    if running.any():
        sums[running] = _running_sums(clean, offsets, lo, hi, np.flatnonzero(running))
    sums = np.where(count > 0, sums, 0.0)
    if all_finite:
        return sums, np.ones(lo.shape, dtype=bool)
    counts = (_running_count(f) for f in _specials(vals))
    return _with_specials(sums, *(c[hi] - c[lo] for c in counts))


def _split_sums(vals: F64, offsets: I64, lo: I64, hi: I64) -> F64:
    """The sums of the windows ``lo``/``hi`` (rows of any of the series)."""
    lengths = np.diff(offsets)
    firsts = np.minimum(offsets[:-1], len(vals) - 1)  # (an empty series repeats no unit)
    unit = _unit(np.maximum.reduceat(np.abs(vals), firsts), lengths)
    # One 0 after the samples: reduceat takes the index past a window's end.
    high, low = np.zeros(len(vals) + 1), np.zeros(len(vals) + 1)
    _split(vals, np.repeat(unit, lengths), high[:-1], low[:-1])
    pairs = _pairs(lo, hi)
    with np.errstate(invalid="ignore"):
        sums = np.add.reduceat(high, pairs)[0::2] + np.add.reduceat(low, pairs)[0::2]
    return sums.reshape(lo.shape)


def _running_sums(vals: F64, offsets: I64, lo: I64, hi: I64, series: I64) -> F64:
    """The sums of the windows of ``series`` (those rows of ``lo``/``hi``)."""
    out = np.zeros((len(series), lo.shape[1]))
    lengths = np.diff(offsets)[series]
    powers = np.frexp(lengths)[1]
    for power in np.unique(powers[lengths > 0]):
        rows = np.flatnonzero(powers == power)
        members = series[rows]
        width = int(lengths[rows].max())
        first = offsets[members][:, None]
        inside = np.arange(width) < lengths[rows][:, None]
        values = np.where(inside, vals[np.where(inside, first + np.arange(width), 0)], 0.0)
        high = np.zeros((len(members), width + 1))  # high[:, k] + low[:, k]: Σ values[:, :k]
        np.cumsum(values, axis=1, out=high[:, 1:])
        before, after = high[:, :-1], high[:, 1:]
        with np.errstate(invalid="ignore"):
            # Knuth's TwoSum: the exact error of after = before + values, whatever the order
            # of magnitude of the two.
            part = after - before
            errors = (before - (after - part)) + (values - part)
        low = np.zeros_like(high)
        np.cumsum(errors, axis=1, out=low[:, 1:])
        row = (np.arange(len(members)) * (width + 1))[:, None]
        start, end = (row + lo[members] - first).ravel(), (row + hi[members] - first).ravel()
        flat_high, flat_low = high.ravel(), low.ravel()
        with np.errstate(invalid="ignore"):
            # high[end] - high[start] exactly (TwoSum again), then the small parts
            difference = flat_high[end] - flat_high[start]
            part = difference - flat_high[end]
            rest = (flat_high[end] - (difference - part)) - (flat_high[start] + part)
            sums = difference + (rest + (flat_low[end] - flat_low[start]))
        out[rows] = sums.reshape(len(members), -1)
    return out


def _unit(largest: F64, count: I64 | np.ndarray) -> F64:
    """A power of two at least ``count`` times above ``largest`` (a magnitude): the high
    parts of :func:`_split` by it add up exactly, whatever the order, for ``count`` values
    (``Inf`` when that is beyond the float range)."""
    with np.errstate(over="ignore"):
        unit: F64 = np.ldexp(1.0, np.frexp(largest)[1] + np.frexp(count)[1])
    return unit


def _split(vals: F64, unit: F64, high: F64, low: F64) -> None:
    """``vals`` exactly as ``high + low`` (written into them): ``high`` a multiple of
    ``unit × 2⁻⁵³`` (a unit per value), ``|low| <= unit × 2⁻⁵³``."""
    with np.errstate(invalid="ignore"):
        np.add(unit, vals, out=high)
        np.subtract(high, unit, out=high)
        np.subtract(vals, high, out=low)


def _specials(vals: F64) -> tuple[Bools, Bools, Bools]:
    return np.isnan(vals), vals == np.inf, vals == -np.inf


def _with_specials(sums: F64, nan: I64, pos: I64, neg: I64) -> tuple[F64, Bools]:
    """The sums with IEEE's answers where NaN and infinities were added (counted per sum),
    and where none was."""
    sums = np.where(pos > 0, np.inf, sums)
    sums = np.where(neg > 0, -np.inf, sums)
    sums = np.where((nan > 0) | ((pos > 0) & (neg > 0)), np.nan, sums)
    return sums, (nan == 0) & (pos == 0) & (neg == 0)


def _running_count(flags: Bools) -> I64:
    running = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=running[1:])
    return running


def _exact_sum(values: F64) -> float:
    """The exactly rounded sum (IEEE's answer where NaN or infinities are added)."""
    try:
        try:
            return math.fsum(values)
        except OverflowError:  # an intermediate sum beyond the float range: add scaled down
            return math.fsum(values * _SCALE) / _SCALE
    except ValueError:  # Inf + -Inf
        return math.nan


def _finite_mean(values: F64) -> float:
    """The mean of finite values (scaled down where their sum leaves the float range)."""
    total = _exact_sum(values)
    if math.isinf(total):
        return math.fsum(values * _SCALE) / len(values) / _SCALE
    return total / len(values)
