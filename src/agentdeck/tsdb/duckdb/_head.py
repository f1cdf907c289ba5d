"""In-memory mirror of the embedded store's head (the ``samples`` table).

The head holds the samples not yet compacted: in arrival order in DuckDB, where a read of one
series has to scan every head row of the range. The mirror keeps the same rows in memory as a
few runs, each sorted by series id (stable, so arrival order within a series is kept), so a
read of some series is a binary search per run. Runs are merged size-tiered: when the four
newest runs are of the same size class (a factor of 4), they become one, so there are O(log n)
runs (about a dozen at most) and each row is merged only log4(n / transaction size) times.

The writer thread is the only one that changes the mirror, and it does so by publishing a new
immutable :class:`HeadView`; readers take :attr:`HeadBuffer.view` once and work on that
snapshot, without a lock.

:class:`SharedLock` lets reads that combine the head with the compacted table see both at the
same point: they hold it shared, and a change that moves rows between the two (compaction,
retention) commits and publishes its new view while holding it exclusively.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agentdeck.tsdb.base import Float64Array, IndexArray, Int64Array


@dataclass(frozen=True, slots=True)
class Run:
    ids: IndexArray  # sorted
    ts: Int64Array
    values: Float64Array
    min_ts: int
    max_ts: int

    @classmethod
    def of(cls, ids: np.ndarray, ts: Int64Array, values: Float64Array) -> Run:
        order = np.argsort(ids, kind="stable")
        return cls(
            np.ascontiguousarray(ids[order], dtype=np.int32),
            ts[order],
            values[order],
            int(ts.min()),
            int(ts.max()),
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class HeadView:
    """The head's rows, and ``sorted_until``: the compacted table holds no sample at or after
    this time, so a read starting there needs the head only (one attribute, so a reader gets
    both from the same moment)."""

    runs: tuple[Run, ...] = ()
    sorted_until: int = 0

    @property
    def rows(self) -> int:
        return sum(len(run) for run in self.runs)

    @property
    def min_ts(self) -> int | None:
        return min((run.min_ts for run in self.runs), default=None)

    def read(
        self, ids: Int64Array, start_ms: int, end_ms: int
    ) -> tuple[Int64Array, Int64Array, Float64Array]:
        """``(series_id, ts, value)`` of the head rows of the sorted ``ids`` within the range."""
        parts: list[tuple[Int64Array, Int64Array, Float64Array]] = []
        wanted = ids.astype(np.int32)  # the runs' dtype: searchsorted would convert the run
        for run in self.runs:
            if run.max_ts < start_ms or run.min_ts > end_ms:
                continue
            lo = np.searchsorted(run.ids, wanted, "left")
            hi = np.searchsorted(run.ids, wanted, "right")
            lengths = hi - lo
            total = int(lengths.sum())
            if total == 0:
                continue
            if len(ids) == 1:
                rows = slice(int(lo[0]), int(hi[0]))
                sids, ts, values = run.ids[rows], run.ts[rows], run.values[rows]
            else:
                # positions lo[i] .. hi[i] - 1 for every id, in one vectorised step
                offsets = np.cumsum(lengths) - lengths
                index = np.arange(total) + np.repeat(lo - offsets, lengths)
                sids, ts, values = run.ids[index], run.ts[index], run.values[index]
            keep = (ts >= start_ms) & (ts <= end_ms)
            parts.append((sids[keep].astype(np.int64), ts[keep], values[keep]))
        if not parts:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty(0, np.float64)
        if len(parts) == 1:
            return parts[0]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )


_TIER = 4


def _size_class(run: Run) -> int:
    return (len(run).bit_length() - 1) // 2  # log4 of the row count


def _merge(runs: list[Run]) -> Run:
    # The inputs are each sorted by id: the stable sort (timsort) just merges those runs.
    return Run.of(
        np.concatenate([run.ids for run in runs]),
        np.concatenate([run.ts for run in runs]),
        np.concatenate([run.values for run in runs]),
    )


class HeadBuffer:
    """The mirror: :attr:`view` for readers, :meth:`append` and :meth:`keep` for the writer."""

    def __init__(self) -> None:
        self.view = HeadView()

    def append(self, ids: np.ndarray, ts: Int64Array, values: Float64Array) -> None:
        if len(ids) == 0:
            return
        view = self.view
        runs = [*view.runs, Run.of(ids, ts, values)]
        while len(runs) >= _TIER and len({_size_class(run) for run in runs[-_TIER:]}) == 1:
            runs[-_TIER:] = [_merge(runs[-_TIER:])]
        self.view = HeadView(tuple(runs), view.sorted_until)

    def without(
        self, ts_before: int, ids: Int64Array | None = None, sorted_until: int | None = None
    ) -> HeadView:
        """The view without the rows older than ``ts_before`` (of ``ids`` only, when given);
        publish it with :meth:`publish` once the same change is committed in DuckDB."""
        runs = []
        for run in self.view.runs:
            mask = run.ts >= ts_before
            if ids is not None:
                mask |= ~np.isin(run.ids, ids)
            if mask.all():
                runs.append(run)
            elif mask.any():
                ts = run.ts[mask]
                runs.append(Run(run.ids[mask], ts, run.values[mask], int(ts.min()), int(ts.max())))
        until = self.view.sorted_until if sorted_until is None else sorted_until
        return HeadView(tuple(runs), until)

    def publish(self, view: HeadView) -> None:
        self.view = view


class SharedLock:
    """Many holders in :meth:`shared` mode, or one in :meth:`exclusive` mode."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True  # new readers wait from now on
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
