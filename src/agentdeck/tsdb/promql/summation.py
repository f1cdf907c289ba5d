"""Accurate sums for the engine: the windows of ``sum_over_time`` and ``avg_over_time``, and
the groups of ``sum``, ``avg``, ``stddev`` and ``stdvar``.

**Windows** are exactly rounded: every window sum is the float nearest to the exact sum of
its samples, bit for bit what ``math.fsum`` gives. So a series' answer depends on its own
samples only, never on the other series of the query nor on how the engine chose to add
them, and the engine may choose per query:

* a query whose windows hold at most ``_FEW`` samples in all (one series over an hour, as an
  alert rule asks) adds them with ``math.fsum``, one window at a time;
* windows that overlap little (instant queries): every value is split exactly into a high
  part, a multiple of a unit chosen per series large enough that any sum of the high parts
  is exact whatever the order, and a small remainder (Rump, Ogita and Oishi's
  ExtractVector, 2008); both are added with ``np.add.reduceat``;
* windows that overlap a lot (ranges of many steps): differences of running sums that start
  again at every series' first sample, each carrying the exact rounding errors of its
  additions (Knuth's TwoSum, for every step at once) summed beside it, the cascaded
  summation of Ogita, Rump and Oishi (2005). Series of one length are rows of a matrix (a
  view of the samples); others are padded with zeros into blocks by the power of two of
  their length.

Both vectorised ways end in an exact high part, a low part and a bound on the low part's
error; where the bound shows that high + low rounds to the nearest float, that is the
answer. Elsewhere (the sum lies within the bound of halfway between two floats: decimal
data does land exactly halfway in about one window in seventy) the low part is shown exact
when every partial sum of it is a representable multiple of the smallest last place among
the samples, and what is left goes to ``math.fsum``. A window of n samples that all hold v
therefore sums to n × v rounded once; its mean (the sum over n) is v, exactly: the few
windows where n × v / n is not v (0.1 three times) are looked at for one value.

**Groups** are as accurate as adding in twice the float precision and rounding once
(Prometheus uses Kahan-Neumaier summation, which has the same bound): split parts as above,
added with ``np.add.reduceat``; the error is at most about one unit in the last place plus
a term of the order of n² × 1.2e-32 × the largest magnitude added.

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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agentdeck.tsdb.promql.values import F64, I64, Bools

_SCALE = 2.0**-64  # exact scaling for the few sums of finite values beyond the float range
#: integers whose magnitudes add up to less than this add exactly in any order (with room for
#: the rounding of the test's own sum of magnitudes)
_EXACT_INTEGERS = 2.0**52
_U = 2.0**-53  # the unit roundoff
_TINY = 2.0**-1074  # the smallest float above 0
#: windows added one at a time in Python when a query has no more samples in its windows
_FEW = 1024
_FEW_WINDOWS = 32
#: windows covering each sample more often than this on average: running sums
_OVERLAP = 12


def window_sums(vals: F64, offsets: I64, lo: I64, hi: I64) -> F64:
    """``Σ vals[lo:hi]`` per window, exactly rounded: ``lo``/``hi`` are (series × steps),
    series ``s``'s windows lie in ``vals[offsets[s]:offsets[s + 1]]``."""
    if _small_integers(vals):
        return _plain_window_sums(vals, lo, hi)
    if _few(lo, hi):
        return _each(vals, lo, hi, _exact_sum)
    sums, finite = _window_sums(vals, offsets, lo, hi)
    for i in np.flatnonzero(~np.isfinite(sums) & finite & (hi > lo)):  # beyond the range
        sums.flat[i] = _exact_sum(vals[lo.flat[i] : hi.flat[i]].tolist())
    return sums


def window_means(vals: F64, offsets: I64, lo: I64, hi: I64) -> F64:
    """The mean of ``vals[lo:hi]`` per window (as :func:`window_sums`; NaN for an empty
    one): the exactly rounded sum over the count, and a window whose samples all hold one
    value gives that value exactly."""
    count = hi - lo
    if _small_integers(vals):  # exact sums: n × v / n is v
        with np.errstate(invalid="ignore"):
            means: F64 = _plain_window_sums(vals, lo, hi) / count
        return means
    if _few(lo, hi):
        return _each(vals, lo, hi, _mean)
    sums, finite = _window_sums(vals, offsets, lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / count
    for i in np.flatnonzero(~np.isfinite(sums) & finite & (count > 0)):
        means.flat[i] = _finite_mean(vals[lo.flat[i] : hi.flat[i]])
    # A window of n samples holding v sums to n × v rounded once, exactly; where that over
    # n is not v (0.1 three times: 0.30000000000000004 / 3), look whether it holds one value.
    firsts = vals[np.where(count > 0, lo, 0)]
    with np.errstate(invalid="ignore", over="ignore"):
        maybe = np.flatnonzero((means != firsts) & (sums == count * firsts) & (count > 1))
    if len(maybe):
        single = maybe[_single_valued(vals, lo.flat[maybe], hi.flat[maybe])]
        means.flat[single] = firsts.flat[single]
    return means


def _few(lo: I64, hi: I64) -> bool:
    """Whether the windows are few and short enough to add one at a time (the answers are
    the same either way: exactly rounded)."""
    return lo.size <= _FEW_WINDOWS and int((hi - lo).sum()) <= _FEW


def _each(vals: F64, lo: I64, hi: I64, total: Callable[[list[float]], float]) -> F64:
    out = np.zeros(lo.shape)
    for i, (start, end) in enumerate(zip(lo.flat, hi.flat, strict=True)):
        out.flat[i] = total(vals[start:end].tolist())
    return out


def _mean(values: list[float]) -> float:
    if not values:
        return math.nan
    first = values[0]
    if all(v == first for v in values):
        return first
    total = _exact_sum(values)
    if math.isinf(total) and all(map(math.isfinite, values)):
        return _finite_mean(np.array(values))
    return total / len(values)


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


def _single_valued(vals: F64, lo: I64, hi: I64) -> Bools:
    """Whether each window ``[lo, hi)`` (none empty) holds one value only."""
    lengths = hi - lo
    ends = np.cumsum(lengths)
    starts = ends - lengths
    inside = np.arange(int(ends[-1])) + np.repeat(lo - starts, lengths)
    same = vals[inside] == np.repeat(vals[lo], lengths)
    single: Bools = np.logical_and.reduceat(same, starts)
    return single


def group_sums(rows: F64, starts: I64) -> F64:
    """Column sums of each group of consecutive ``rows`` (group ``g`` starts at row
    ``starts[g]``; ascending, the first 0): (groups × columns)."""
    if len(starts) == len(rows):  # groups of one row: each sum is that row, exactly
        return rows.copy()
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
    """The exactly rounded sums, and whether each window's samples are all finite."""
    every = np.ones(lo.shape, dtype=bool)
    if len(vals) == 0:
        return np.zeros(lo.shape), every
    finite = np.isfinite(vals)
    all_finite = bool(finite.all())
    clean = vals if all_finite else np.where(finite, vals, 0.0)
    count = hi - lo
    if int(count.sum()) > _OVERLAP * len(vals):
        added = _running_sums(clean, offsets, lo, hi)
    else:
        added = _split_sums(clean, offsets, lo, hi)
    sums = _rounded(added, clean, lo, hi)
    if all_finite:
        return sums, every
    counts = (_running_count(f) for f in _specials(vals))
    return _with_specials(sums, *(c[hi] - c[lo] for c in counts))


@dataclass(slots=True)
class _Added:
    """Window sums ``high + low`` but for an error of at most ``bound``, which is 0 where the
    smallest unit in the last place of the window's nonzero samples (of its series' with
    ``offsets``) is at least ``exact_above``: every partial sum of the small parts is then a
    representable multiple of it."""

    high: F64
    low: F64
    bound: F64
    exact_above: F64
    offsets: I64 | None = None


def _rounded(added: _Added, vals: F64, lo: I64, hi: I64) -> F64:
    """The exactly rounded sums: ``high + low`` where the bound shows that this is the
    float nearest to the sum, or the small parts are exact; ``math.fsum`` elsewhere (rare)."""
    a, b = added.high, added.low
    with np.errstate(invalid="ignore", over="ignore"):
        total = a + b
        part = total - a  # TwoSum: total + rest is a + b exactly
        rest = (a - (total - part)) + (b - part)
        # rounding is monotonic: where a float above rest + bound and one below rest - bound
        # both added to total round to it, so does the sum
        bound = added.bound
        above = _beyond(rest + bound, 1.0)
        below = _beyond(rest - bound, -1.0)
        sure = (total + above == total) & (total + below == total)
    unsure = np.flatnonzero(~sure & (hi > lo))
    if len(unsure):  # near halfway (often exactly: decimal data) or beyond the float range
        if added.offsets is None:
            smallest = _smallest_gap(vals, lo.flat[unsure], hi.flat[unsure])
        else:
            series, which = np.unique(unsure // lo.shape[1], return_inverse=True)
            offsets = added.offsets
            smallest = _smallest_gap(vals, offsets[series], offsets[series + 1])[which]
        with np.errstate(invalid="ignore"):
            exact = added.exact_above.flat[unsure] <= smallest
        unsure = unsure[~(exact & np.isfinite(total.flat[unsure]))]
    for i in unsure:
        total.flat[i] = _exact_sum(vals[lo.flat[i] : hi.flat[i]].tolist())
    return np.where(hi > lo, total, 0.0)


def _beyond(values: F64, direction: float) -> F64:
    """Floats at least one unit in the last place beyond ``values`` in ``direction`` (±1),
    so beyond the sums ``values`` were rounded from (cheaper than ``np.nextafter``)."""
    step = np.abs(values) * 2.0**-51 + _TINY
    beyond: F64 = values + direction * step
    return beyond


def _smallest_gap(vals: F64, lo: I64, hi: I64) -> F64:
    """The smallest unit in the last place of the nonzero values of each ``vals[lo:hi]``
    (none empty; ``Inf`` for zeros only)."""
    lengths = hi - lo
    ends = np.cumsum(lengths)
    starts = ends - lengths
    values = vals[np.arange(int(ends[-1])) + np.repeat(lo - starts, lengths)]
    gaps = np.where(values != 0, np.spacing(np.abs(values)), np.inf)
    smallest: F64 = np.minimum.reduceat(gaps, starts)
    return smallest


def _split_sums(vals: F64, offsets: I64, lo: I64, hi: I64) -> _Added:
    """The sums of the windows ``lo``/``hi`` (rows of the series) as exact high parts and
    added low parts, and a bound on the error of the latter."""
    lengths = np.diff(offsets)
    firsts = np.minimum(offsets[:-1], len(vals) - 1)  # (an empty series repeats no unit)
    largest = np.maximum.reduceat(np.abs(vals), firsts)
    unit = _unit(largest, 2 * lengths)  # a bit to spare: every sum of high parts is exact
    # One 0 after the samples: reduceat takes the index past a window's end.
    high, low = np.zeros(len(vals) + 1), np.zeros(len(vals) + 1)
    _split(vals, np.repeat(unit, lengths), high[:-1], low[:-1])
    pairs = np.stack((lo.ravel(), hi.ravel()), axis=1).ravel()
    with np.errstate(invalid="ignore"):
        highs = np.add.reduceat(high, pairs)[0::2].reshape(lo.shape)
        lows = np.add.reduceat(low, pairs)[0::2].reshape(lo.shape)
        # n lows of at most min(|v|, unit × u) each, added in any order
        n = (hi - lo).astype(np.float64)
        bound = 1.01 * n * (n * _U) * np.minimum(unit * _U, largest)[:, None]
        # the lows are multiples of their values' last places, n of at most unit × u
        exact_above = n * unit[:, None] * 2.0**-105
    bound = np.where(np.isfinite(bound), bound, np.inf)
    return _Added(highs, lows, bound, exact_above)


def _running_sums(vals: F64, offsets: I64, lo: I64, hi: I64) -> _Added:
    """The sums of the windows as the exact difference of running sums, with the added
    differences of their errors."""
    rows = len(offsets) - 1
    high_parts, low_parts, bound = np.zeros(lo.shape), np.zeros(lo.shape), np.zeros(lo.shape)
    largest = np.zeros(rows)
    lengths = np.diff(offsets)
    width = int(lengths.max())
    blocks: list[tuple[I64, F64]] = []
    if width == 0:
        pass
    elif (lengths == width).all():  # one length: the samples as a matrix, no copy
        blocks = [(np.arange(rows), vals.reshape(rows, width))]
    else:  # padded with zeros into blocks by the power of two of their length
        powers = np.frexp(lengths)[1]
        for power in np.unique(powers[lengths > 0]):
            members = np.flatnonzero(powers == power)
            block_width = int(lengths[members].max())
            inside = np.arange(block_width) < lengths[members][:, None]
            at = np.where(inside, offsets[members][:, None] + np.arange(block_width), 0)
            blocks.append((members, np.where(inside, vals[at], 0.0)))
    for members, values in blocks:
        first = offsets[members][:, None]
        parts = _block_sums(values, lo[members] - first, hi[members] - first)
        high_parts[members], low_parts[members], bound[members], largest[members] = parts
    # every running sum, error and partial sum of errors is a multiple of the smallest last
    # place of the series' values, and the errors add up to at most (2n + 2) u × the largest
    # running sum: exact when that is below 2⁵³ of those places
    with np.errstate(over="ignore"):
        exact_above = ((2.0 * lengths + 2.0) * largest * 2.0**-105)[:, None]
    exact_above = np.broadcast_to(exact_above, lo.shape)
    return _Added(high_parts, low_parts, bound, exact_above, offsets)


def _block_sums(values: F64, lo: I64, hi: I64) -> tuple[F64, F64, F64, F64]:
    """:func:`_running_sums` of the rows of ``values`` (``lo``/``hi`` relative to a row): the
    high and low parts, the bound, and each row's largest running sum."""
    rows, width = values.shape
    high = np.empty((rows, width + 1))  # high[:, k] + low[:, k]: Σ values[:, :k]
    high[:, 0] = 0.0
    np.cumsum(values, axis=1, out=high[:, 1:])
    before, after = high[:, :-1], high[:, 1:]
    with np.errstate(invalid="ignore", over="ignore"):
        # Knuth's TwoSum: the exact error of after = before + values, whatever the order of
        # magnitude of the two, for every step at once.
        part = after - before
        errors = after - part
        np.subtract(before, errors, out=errors)
        np.subtract(values, part, out=part)
        errors += part
        low = np.empty_like(high)
        low[:, 0] = 0.0
        np.cumsum(errors, axis=1, out=low[:, 1:])
        # each error is at most u × its running sum; the running sum of k of them is off
        # by at most k u × their sum
        largest = np.maximum(high.max(axis=1), -high.min(axis=1))
        row = (np.arange(rows) * (width + 1))[:, None]
        start, end = row + lo, row + hi
        flat_high, flat_low = high.ravel(), low.ravel()
        high_end, high_start = flat_high[end], flat_high[start]
        # high[end] - high[start] exactly (TwoSum again), plus the small parts
        difference = high_end - high_start
        part = difference - high_end
        rest = (high_end - (difference - part)) - (high_start + part)
        errors_between = flat_low[end] - flat_low[start]
        small = rest + errors_between
        bound = 2.02 * width * _U * (width * _U * largest[:, None])
        bound = bound + _U * (np.abs(errors_between) + np.abs(small))
    return difference, small, np.where(np.isfinite(bound), bound, np.inf), largest


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


def _exact_sum(values: F64 | list[float]) -> float:
    """The exactly rounded sum (IEEE's answer where NaN or infinities are added)."""
    try:
        try:
            return math.fsum(values)
        except OverflowError:  # an intermediate sum beyond the float range: add scaled down
            return math.fsum(np.asarray(values) * _SCALE) / _SCALE
    except ValueError:  # Inf + -Inf
        return math.nan


def _finite_mean(values: F64) -> float:
    """The mean of finite values (scaled down where their sum leaves the float range)."""
    total = _exact_sum(values)
    if math.isinf(total):
        return math.fsum(values * _SCALE) / len(values) / _SCALE
    return total / len(values)
