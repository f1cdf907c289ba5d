"""Values the evaluator passes around, evaluated at every step of a query at once.

An instant vector is a block: one row per series (its labels, ``__name__`` included while it
is kept) and one column per step, with ``mask`` saying where a sample exists. Scalars are one
value per step. Series fetched for a selector are kept flat (all samples of all series in one
array, series after series) so that window bounds for every (series, step) come from a single
``searchsorted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agentdeck.tsdb.base import Series
from agentdeck.tsdb.names import METRIC_NAME_LABEL

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Labels = dict[str, str]

_SERIES_SHIFT = 40  # series index << 40 | ms since the fetch start: one sortable key


class PromQLError(ValueError):
    """The query cannot be evaluated (bad syntax, wrong types, bad matching): bad_data."""


class PromQLUnsupported(PromQLError):
    """The query uses a construct outside the supported subset (the message names it)."""


class QueryTimeout(PromQLError):
    """The query ran past its timeout."""


@dataclass(slots=True)
class Scalar:
    values: F64  # (steps,)


@dataclass(slots=True)
class String:
    value: str


@dataclass(slots=True)
class Vector:
    labels: list[Labels]
    values: F64  # (series, steps)
    mask: Bools  # (series, steps)

    @classmethod
    def empty(cls, steps: int) -> Vector:
        return cls([], np.empty((0, steps)), np.empty((0, steps), dtype=bool))

    def __len__(self) -> int:
        return len(self.labels)

    def compact(self) -> Vector:
        """Drops series without any sample."""
        keep = self.mask.any(axis=1)
        if bool(keep.all()):
            return self
        idx = np.flatnonzero(keep)
        return Vector([self.labels[i] for i in idx], self.values[idx], self.mask[idx])


Value = Scalar | String | Vector


def drop_name(labels: Labels) -> Labels:
    if METRIC_NAME_LABEL not in labels:
        return labels
    return {k: v for k, v in labels.items() if k != METRIC_NAME_LABEL}


@dataclass(slots=True)
class Fetched:
    """Every sample of the series of one selector, flat, with per-series offsets."""

    series: Sequence[Series]
    ts: I64
    vals: F64
    offsets: I64  # (series + 1,)
    keys: I64
    bare: list[Labels]  # the labels without ``__name__`` (shared, never changed in place)
    _labels: list[Labels] | None = None

    @property
    def labels(self) -> list[Labels]:
        """The labels with ``__name__`` (made when first asked: most functions drop it)."""
        if self._labels is None:
            self._labels = [s.metric() for s in self.series]
        return self._labels

    @classmethod
    def of(cls, series: Sequence[Series], base_ms: int) -> Fetched:
        bare = [s.labels for s in series]
        counts = np.fromiter((len(s) for s in series), dtype=np.int64, count=len(series))
        offsets = np.zeros(len(series) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        if series:
            ts = np.concatenate([s.timestamps for s in series]).astype(np.int64, copy=False)
            vals = np.concatenate([s.values for s in series]).astype(np.float64, copy=False)
        else:
            ts, vals = np.empty(0, np.int64), np.empty(0, np.float64)
        sidx = np.repeat(np.arange(len(series), dtype=np.int64), counts)
        keys = (sidx << _SERIES_SHIFT) + (ts - base_ms)
        return cls(series, ts, vals, offsets, keys, bare)

    def bounds(self, upper_ms: I64, window_ms: int, base_ms: int) -> tuple[I64, I64]:
        """``[lo, hi)`` sample indices of the window ``(t - window, t]`` per (series, step)."""
        n_series = len(self.bare)
        sidx = (np.arange(n_series, dtype=np.int64) << _SERIES_SHIFT)[:, None]
        limit = (1 << _SERIES_SHIFT) - 1
        hi_rel = np.clip(upper_ms - base_ms, -1, limit)[None, :]
        lo_rel = np.clip(upper_ms - window_ms - base_ms, -1, limit)[None, :]
        hi = np.searchsorted(self.keys, sidx + hi_rel, side="right")
        lo = np.searchsorted(self.keys, sidx + lo_rel, side="right")
        return lo.astype(np.int64), hi.astype(np.int64)
