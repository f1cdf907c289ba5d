"""PromQL functions: range-vector functions over windows and element-wise instant functions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from agentdeck.tsdb.promql.summation import window_means, window_sums
from agentdeck.tsdb.promql.values import F64, I64, Fetched, PromQLError, Vector, drop_name

RANGE_FUNCTIONS = frozenset(
    {
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "quantile_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "changes",
        "resets",
    }
)

ELEMENTWISE: dict[str, Callable[[F64], F64]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": np.sign,
}


def range_function(
    name: str,
    data: Fetched,
    lo: I64,
    hi: I64,
    upper_ms: I64,
    range_ms: int,
    param: float | None = None,
) -> Vector:
    """Evaluates ``name`` over the windows ``[lo, hi)`` of every (series, step)."""
    count = hi - lo
    vals = data.vals
    if name in ("rate", "increase", "delta"):
        values, mask = _extrapolated(name, data, lo, hi, upper_ms, range_ms)
    elif name in ("irate", "idelta"):
        values, mask = _instant_delta(name == "irate", data, lo, hi)
    else:
        mask = count > 0
        safe_last = np.where(mask, hi - 1, 0)
        if name == "count_over_time":
            values = count.astype(np.float64)
        elif name == "last_over_time":
            values = _take(vals, safe_last)
        elif name == "sum_over_time":
            values = window_sums(vals, data.offsets, lo, hi)
        elif name == "avg_over_time":
            values = window_means(vals, data.offsets, lo, hi)
        elif name in ("min_over_time", "max_over_time"):
            values = _window_reduce(np.fmin if name == "min_over_time" else np.fmax, vals, lo, hi)
        elif name in ("stddev_over_time", "stdvar_over_time"):
            values = _per_window(vals, lo, hi, mask, lambda w: float(np.var(w)))
            if name == "stddev_over_time":
                values = np.sqrt(values)
        elif name == "quantile_over_time":
            assert param is not None
            values = _per_window(vals, lo, hi, mask, lambda w: quantile(param, w))
        elif name in ("changes", "resets"):
            prev = np.concatenate(([np.nan], vals[:-1]))
            if name == "changes":
                hit = (vals != prev) & ~(np.isnan(vals) & np.isnan(prev))
            else:
                hit = vals < prev
            hits = np.concatenate(([0], np.cumsum(hit.astype(np.int64))))
            first = np.minimum(lo + 1, hi)
            values = (hits[hi] - hits[first]).astype(np.float64)
        else:  # pragma: no cover - RANGE_FUNCTIONS lists the names above
            raise PromQLError(f"unknown range function {name}")
    keep_name = name == "last_over_time"
    labels = data.labels if keep_name else data.bare
    return Vector(labels, np.where(mask, values, 0.0), mask).compact()


def _take(vals: F64, index: I64) -> F64:
    if len(vals) == 0:
        return np.zeros(index.shape)
    return vals[index]


def _window_reduce(ufunc: np.ufunc, vals: F64, lo: I64, hi: I64) -> F64:
    """``ufunc`` reduced over each window (windows may overlap; empty ones give junk)."""
    if len(vals) == 0:
        return np.zeros(lo.shape)
    padded = np.concatenate((vals, [0.0]))
    pairs = np.stack((lo.ravel(), hi.ravel()), axis=1).ravel()
    reduced = ufunc.reduceat(padded, pairs)[0::2]
    return np.asarray(reduced, dtype=np.float64).reshape(lo.shape)


def _per_window(vals: F64, lo: I64, hi: I64, mask: np.ndarray, fn: Callable[[F64], float]) -> F64:
    out = np.zeros(lo.shape)
    for s, n in zip(*np.nonzero(mask), strict=True):
        out[s, n] = fn(vals[lo[s, n] : hi[s, n]])
    return out


def quantile(q: float, values: F64) -> float:
    """Prometheus's quantile: linear interpolation between closest ranks; ±Inf outside [0, 1]."""
    if len(values) == 0 or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = np.sort(values)
    rank = q * (len(ordered) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


def _extrapolated(
    name: str, data: Fetched, lo: I64, hi: I64, upper_ms: I64, range_ms: int
) -> tuple[F64, np.ndarray]:
    """``rate``, ``increase`` and ``delta`` with Prometheus's extrapolation to the range ends.

    Per window: the difference between the last and first sample (plus, for counters, the
    value before every drop), stretched from the sampled interval towards the range
    boundaries: all the way to a boundary closer than 1.1 × the average sample spacing,
    otherwise by half that spacing; counters are never stretched below zero.
    """
    is_counter = name != "delta"
    count = hi - lo
    mask = count >= 2
    if len(data.vals) == 0:
        return np.zeros(lo.shape), mask
    vals, ts = data.vals, data.ts
    first_i = np.where(mask, lo, 0)
    last_i = np.where(mask, hi - 1, 0)
    first_v, last_v = vals[first_i], vals[last_i]
    result = last_v - first_v
    if is_counter:
        prev = np.concatenate(([0.0], vals[:-1]))
        drops = np.where(vals < prev, prev, 0.0)
        drops[data.offsets[:-1][data.offsets[:-1] < len(vals)]] = 0.0  # series starts
        if drops.any():
            dropped = window_sums(drops, data.offsets, np.minimum(lo + 1, hi), hi)
            result = result + np.where(mask, dropped, 0.0)
    range_end = upper_ms[None, :].astype(np.float64)
    range_start = range_end - range_ms
    first_t = ts[first_i].astype(np.float64)
    last_t = ts[last_i].astype(np.float64)
    to_start = (first_t - range_start) / 1000
    to_end = (range_end - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    with np.errstate(divide="ignore", invalid="ignore"):
        average = sampled / np.maximum(count - 1, 1)
        threshold = average * 1.1
        to_start = np.where(to_start >= threshold, average / 2, to_start)
        if is_counter:
            to_zero = np.where(
                (result > 0) & (first_v >= 0), sampled * (first_v / result), to_start
            )
            to_start = np.minimum(to_start, to_zero)
        to_end = np.where(to_end >= threshold, average / 2, to_end)
        factor = (sampled + to_start + to_end) / sampled
        if name == "rate":
            factor = factor / (range_ms / 1000)
        values = result * factor
    return np.where(mask, values, 0.0), mask


def _instant_delta(is_rate: bool, data: Fetched, lo: I64, hi: I64) -> tuple[F64, np.ndarray]:
    """``irate``/``idelta``: from the last two samples of each window."""
    mask = (hi - lo) >= 2
    if len(data.vals) == 0:
        return np.zeros(lo.shape), mask
    last_i = np.where(mask, hi - 1, 1)
    prev_i = last_i - 1
    last_v, prev_v = data.vals[last_i], data.vals[prev_i]
    if not is_rate:
        return last_v - prev_v, mask
    diff = np.where(last_v < prev_v, last_v, last_v - prev_v)
    seconds = (data.ts[last_i] - data.ts[prev_i]) / 1000
    with np.errstate(divide="ignore", invalid="ignore"):
        return diff / seconds, mask & (seconds != 0)


def elementwise(name: str, vector: Vector) -> Vector:
    with np.errstate(all="ignore"):
        values = ELEMENTWISE[name](vector.values)
    return Vector([drop_name(labels) for labels in vector.labels], values, vector.mask)


def clamp(vector: Vector, low: F64 | None, high: F64 | None) -> Vector:
    values = vector.values
    mask = vector.mask
    if low is not None:
        values = np.maximum(values, low[None, :])
        mask = mask & ~np.isnan(np.broadcast_to(low, mask.shape[1:]))[None, :]
    if high is not None:
        values = np.minimum(values, high[None, :])
    if low is not None and high is not None:
        mask = mask & (low <= high)[None, :]
    return Vector([drop_name(labels) for labels in vector.labels], values, mask).compact()


def round_to(vector: Vector, nearest: F64) -> Vector:
    """Rounds half up to the nearest multiple of ``nearest`` (as Prometheus does)."""
    inverse = 1.0 / nearest[None, :]
    with np.errstate(all="ignore"):
        values = np.floor(vector.values * inverse + 0.5) / inverse
    return Vector([drop_name(labels) for labels in vector.labels], values, vector.mask)


def histogram_quantile(q: F64, vector: Vector) -> Vector:
    """Classic-bucket quantiles: series grouped by their labels without ``le``."""
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, int]]] = {}
    for i, labels in enumerate(vector.labels):
        le_text = labels.get("le")
        if le_text is None:
            continue
        try:
            upper = float(le_text)
        except ValueError:
            continue
        key = tuple(sorted((k, v) for k, v in drop_name(labels).items() if k != "le"))
        groups.setdefault(key, []).append((upper, i))
    steps = vector.values.shape[1]
    out_labels: list[dict[str, str]] = []
    out_values = np.zeros((len(groups), steps))
    out_mask = np.zeros((len(groups), steps), dtype=bool)
    for g, (key, members) in enumerate(groups.items()):
        members.sort()
        uppers = np.array([u for u, _ in members])
        rows = [i for _, i in members]
        counts = vector.values[rows]
        present = vector.mask[rows]
        out_labels.append(dict(key))
        for n in range(steps):
            have = present[:, n]
            if not have.any():
                continue
            out_mask[g, n] = True
            out_values[g, n] = _bucket_quantile(float(q[n]), uppers[have], counts[have, n])
    return Vector(out_labels, out_values, out_mask).compact()


def _bucket_quantile(q: float, uppers: F64, counts: F64) -> float:
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(uppers) < 2 or not math.isinf(uppers[-1]) or uppers[-1] < 0:
        return math.nan
    counts = np.maximum.accumulate(counts)  # monotonic, as Prometheus enforces
    total = counts[-1]
    if total == 0 or math.isnan(total):
        return math.nan
    rank = float(q * total)
    b = int(np.searchsorted(counts, rank, side="left"))
    if b == len(uppers) - 1:
        return float(uppers[-2])
    if b == 0 and uppers[0] <= 0:
        return float(uppers[0])
    start, end = 0.0, float(uppers[b])
    count = float(counts[b])
    if b > 0:
        start = float(uppers[b - 1])
        count -= float(counts[b - 1])
        rank -= float(counts[b - 1])
    return start + (end - start) * (rank / count)
