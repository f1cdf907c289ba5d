"""OTLP delta temporality: running totals that make delta sums and histograms cumulative."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

from agentdeck.ingest.decoders.otlp import Row

_SeriesId = tuple[str, tuple[tuple[str, str], ...]]
_Step = tuple[int, _SeriesId, float]


class DeltaAccumulator:
    """Running totals that turn delta points into cumulative samples, per tenant and series.

    In memory only: totals restart from zero when the process does. :meth:`lock` serialises
    the requests of one tenant that carry deltas, so that a total is read, sent to ingest and
    committed without another request in between.
    """

    def __init__(self) -> None:
        self._totals: dict[UUID, dict[_SeriesId, float]] = {}
        self._locks: dict[UUID, asyncio.Lock] = {}

    def lock(self, tenant_id: UUID) -> asyncio.Lock:
        lock = self._locks.get(tenant_id)
        if lock is None:
            lock = self._locks[tenant_id] = asyncio.Lock()
        return lock

    def cumulate(self, tenant_id: UUID, deltas: Sequence[Row]) -> tuple[list[Row], list[_Step]]:
        """Cumulative rows for ``deltas`` and the steps (point, series, total) to commit."""
        totals = self._totals.get(tenant_id, {})
        pending: dict[_SeriesId, float] = {}
        steps: list[_Step] = []
        out: list[Row] = []
        for name, labels, value, ts, index in sorted(deltas, key=lambda r: r[3] or 0):
            key: _SeriesId = (name, tuple(sorted(labels.items())))
            total = pending.get(key, totals.get(key, 0.0)) + value
            pending[key] = total
            steps.append((index, key, total))
            out.append((name, labels, total, ts, index))
        return out, steps

    def commit(self, tenant_id: UUID, steps: Sequence[_Step], rejected_points: set[int]) -> None:
        """Keep the totals of the points that were accepted, in time order."""
        totals = self._totals.setdefault(tenant_id, {})
        for index, key, total in steps:
            if index not in rejected_points:
                totals[key] = total
