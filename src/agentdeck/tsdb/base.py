"""The metrics store seam: sample batches, label matchers, read results and the protocol.

A *sample* is (metric name, labels, timestamp in ms, float64 value) inside a tenant. A
*series* is one (tenant, name, labels) combination. Labels never include ``__name__`` here: the
name travels on its own and is exposed as ``__name__`` only where Prometheus APIs want it
(:meth:`Series.metric`, :meth:`Store.series`).

Two implementations share the contract (``tests/tsdb/test_contract.py``): the embedded
:class:`~agentdeck.tsdb.duckdb.DuckDBStore` and the scale-out
:class:`~agentdeck.tsdb.victoriametrics.VictoriaMetricsStore`. ``docs/storage.md`` spells the
semantics out, including where the two differ.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, runtime_checkable
from uuid import UUID

import numpy as np
import numpy.typing as npt

from agentdeck.tsdb.names import METRIC_NAME_LABEL

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int32]

#: A PromQL query's answer as the Prometheus HTTP API's ``data``: ``resultType`` (``vector``,
#: ``scalar``, ``string`` or ``matrix``) and ``result`` (labels without the tenant).
QueryData = dict[str, Any]

#: Largest timestamp a store accepts (ms): year 2286, far beyond any real sample.
MAX_TIMESTAMP_MS = 10**13


class StoreError(RuntimeError):
    """The store failed to carry out a call (I/O, backend down, backend refused)."""


class InvalidMatcher(ValueError):
    """A label matcher or a set of matchers cannot be used (bad regex, matches everything)."""


class SeriesKey(NamedTuple):
    """A series identity inside a tenant: the metric name and its sorted, non-empty labels."""

    name: str
    labels: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, name: str, labels: Mapping[str, str] | None = None) -> SeriesKey:
        """The canonical key for ``name`` and ``labels`` (empty values dropped, sorted)."""
        if not labels:
            return cls(name, ())
        return cls(name, tuple(sorted((k, v) for k, v in labels.items() if v)))

    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)

    def metric(self) -> dict[str, str]:
        """The labels with ``__name__``, as Prometheus APIs show a series."""
        return {METRIC_NAME_LABEL: self.name, **dict(self.labels)}


# --- writes ----------------------------------------------------------------------------------

_tags = itertools.count(1)


def next_series_tag() -> int:
    """A new series tag: a number never handed out before in this process. A writer that
    keeps one key object per series can give each its tag and attach the tags to its batches
    (:attr:`SampleBatch.tags`): equal tags then always mean equal keys, whoever wrote them."""
    return next(_tags)  # itertools.count is atomic under the interpreter lock


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Samples to write, columnar and keyed by series.

    ``series`` lists the distinct series of the batch once each; ``series_index[i]`` says
    which of them sample ``i`` belongs to, with ``timestamps[i]`` (ms since the epoch, int64)
    and ``values[i]`` (float64). Labels are therefore resolved once per series and not once
    per sample. Build one with :meth:`from_rows`, :meth:`from_series` or
    :class:`SampleBatchBuilder`.

    Values may be any float64 except NaN (Prometheus staleness markers included): NaN
    cannot be stored by every backend, so callers drop or reject it before writing.
    """

    series: tuple[SeriesKey, ...]
    series_index: IndexArray
    timestamps: Int64Array
    values: Float64Array
    #: Optional: the series' tags (:func:`next_series_tag`), one per series, from a writer
    #: that keeps one tag per series key; a store may then find the series by tag instead of
    #: by key. ``None``: the store looks the keys up.
    tags: Int64Array | None = None

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        if len(self.series_index) != n or len(self.values) != n:
            raise ValueError("series_index, timestamps and values must have the same length")
        if self.tags is not None and (
            len(self.tags) != len(self.series) or self.tags.dtype != np.int64
        ):
            raise ValueError("tags must be int64, one per series")
        if self.series_index.dtype != np.int32:
            raise ValueError("series_index must be int32")
        if self.timestamps.dtype != np.int64:
            raise ValueError("timestamps must be int64 milliseconds")
        if self.values.dtype != np.float64:
            raise ValueError("values must be float64")
        if n == 0:
            return
        if int(self.series_index.min()) < 0 or int(self.series_index.max()) >= len(self.series):
            raise ValueError("series_index points outside series")
        if int(self.timestamps.min()) < 0 or int(self.timestamps.max()) > MAX_TIMESTAMP_MS:
            raise ValueError(f"timestamps must be within [0, {MAX_TIMESTAMP_MS}] ms")
        if bool(np.isnan(self.values).any()):
            raise ValueError("NaN values cannot be stored; drop them before writing")

    def __len__(self) -> int:
        return len(self.timestamps)

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls(
            (),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.float64),
        )

    @classmethod
    def from_rows(
        cls,
        names: Sequence[str],
        labels: Sequence[Mapping[str, str] | None],
        timestamps: Sequence[int] | Int64Array,
        values: Sequence[float] | Float64Array,
    ) -> SampleBatch:
        """A batch from parallel per-sample columns (labels are deduplicated into series)."""
        if not (len(names) == len(labels) == len(timestamps) == len(values)):
            raise ValueError("names, labels, timestamps and values must have the same length")
        keys: dict[SeriesKey, int] = {}
        index = np.empty(len(names), np.int32)
        for i, (name, label_set) in enumerate(zip(names, labels, strict=True)):
            key = SeriesKey.of(name, label_set)
            position = keys.get(key)
            if position is None:
                position = keys[key] = len(keys)
            index[i] = position
        return cls(
            tuple(keys),
            index,
            np.asarray(timestamps, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
        )

    @classmethod
    def from_series(
        cls,
        items: Iterable[
            tuple[str, Mapping[str, str] | None, Sequence[int] | Int64Array, Sequence[float]]
            | tuple[str, Mapping[str, str] | None, Sequence[int] | Int64Array, Float64Array]
        ],
    ) -> SampleBatch:
        """A batch from ``(name, labels, timestamps, values)`` per series."""
        keys: dict[SeriesKey, int] = {}
        index_parts: list[IndexArray] = []
        ts_parts: list[Int64Array] = []
        value_parts: list[Float64Array] = []
        for name, label_set, ts, vals in items:
            key = SeriesKey.of(name, label_set)
            position = keys.get(key)
            if position is None:
                position = keys[key] = len(keys)
            ts_array = np.asarray(ts, dtype=np.int64)
            value_array = np.asarray(vals, dtype=np.float64)
            if len(ts_array) != len(value_array):
                raise ValueError(f"series {name!r}: timestamps and values differ in length")
            index_parts.append(np.full(len(ts_array), position, np.int32))
            ts_parts.append(ts_array)
            value_parts.append(value_array)
        if not index_parts:
            return cls.empty()
        return cls(
            tuple(keys),
            np.concatenate(index_parts),
            np.concatenate(ts_parts),
            np.concatenate(value_parts),
        )


class SampleBatchBuilder:
    """Accumulates samples one at a time (as a parser produces them) into a :class:`SampleBatch`."""

    __slots__ = ("_index", "_keys", "_timestamps", "_values")

    def __init__(self) -> None:
        self._keys: dict[SeriesKey, int] = {}
        self._index: list[int] = []
        self._timestamps: list[int] = []
        self._values: list[float] = []

    def __len__(self) -> int:
        return len(self._index)

    def add(self, name: str, labels: Mapping[str, str] | None, ts_ms: int, value: float) -> None:
        key = SeriesKey.of(name, labels)
        position = self._keys.get(key)
        if position is None:
            position = self._keys[key] = len(self._keys)
        self._index.append(position)
        self._timestamps.append(ts_ms)
        self._values.append(value)

    def build(self) -> SampleBatch:
        return SampleBatch(
            tuple(self._keys),
            np.array(self._index, dtype=np.int32),
            np.array(self._timestamps, dtype=np.int64),
            np.array(self._values, dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did. ``new_series`` is ``None`` when the backend cannot tell."""

    samples: int
    new_series: int | None


# --- reads -----------------------------------------------------------------------------------


class MatchOp(StrEnum):
    eq = "="
    ne = "!="
    re = "=~"
    nre = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """A Prometheus label matcher on ``__name__`` or a label.

    Regexes are anchored at both ends as in Prometheus (``=~"a.*"`` matches ``"abc"`` but not
    ``"xabc"``) and ``.`` also matches a newline. A matcher that accepts the empty string also
    accepts series that lack the label (``{env=""}`` selects series without ``env``).
    Regexes use Python's :mod:`re` syntax on the embedded store and Go's RE2 on
    VictoriaMetrics; keep to their common subset.
    """

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __init__(self, name: str, op: MatchOp | str, value: str) -> None:
        try:
            match_op = MatchOp(op)
        except ValueError:
            raise InvalidMatcher(f"unknown match operator {op!r}") from None
        regex: re.Pattern[str] | None = None
        if match_op in (MatchOp.re, MatchOp.nre):
            try:
                # fullmatch anchors the whole pattern, alternations included.
                regex = re.compile(value, re.DOTALL)
            except re.error as exc:
                raise InvalidMatcher(f"invalid regex for label {name!r}: {exc}") from None
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "op", match_op)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "_regex", regex)

    @classmethod
    def name_is(cls, metric_name: str) -> Matcher:
        """``__name__="<metric_name>"``."""
        return cls(METRIC_NAME_LABEL, MatchOp.eq, metric_name)

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` for an absent label) satisfies the matcher."""
        if self.op is MatchOp.eq:
            return value == self.value
        if self.op is MatchOp.ne:
            return value != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(value) is not None
        return found if self.op is MatchOp.re else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op.value}{_quote(self.value)}"


def _quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def format_selector(matchers: Sequence[Matcher]) -> str:
    """``{a="b",c=~"d"}``: a PromQL series selector (values quoted, special chars escaped)."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def check_selector(matchers: Sequence[Matcher]) -> None:
    """Refuse selectors that would match every series, as Prometheus does.

    At least one matcher must reject the empty string (``{job=~".*"}`` alone is refused;
    ``{job=~".+"}`` or ``{__name__="up"}`` are fine).
    """
    if not matchers:
        raise InvalidMatcher("a selector needs at least one matcher")
    if all(m.matches("") for m in matchers):
        raise InvalidMatcher(
            "a selector needs at least one matcher that does not match the empty string"
        )


def matches_series(matchers: Sequence[Matcher], key: SeriesKey) -> bool:
    """Whether a series satisfies every matcher (reference semantics, used by tests too)."""
    labels = dict(key.labels)
    for m in matchers:
        value = key.name if m.name == METRIC_NAME_LABEL else labels.get(m.name, "")
        if not m.matches(value):
            return False
    return True


@dataclass(slots=True)
class Series:
    """One series read back: its name, labels (no ``__name__``) and samples sorted by time."""

    name: str
    labels: dict[str, str]
    timestamps: Int64Array
    values: Float64Array

    @property
    def key(self) -> SeriesKey:
        return SeriesKey.of(self.name, self.labels)

    def metric(self) -> dict[str, str]:
        """The labels with ``__name__``, as Prometheus APIs show a series."""
        return {METRIC_NAME_LABEL: self.name, **self.labels}

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counters for ``/metrics`` and the benchmarks. ``None``: the backend cannot tell."""

    backend: str
    series: int | None
    samples_written: int
    write_calls: int
    write_transactions: int
    disk_bytes: int | None
    extra: dict[str, Any] = field(default_factory=dict)


#: Series count as "active" when their newest sample is younger than this (ms).
ACTIVE_WINDOW_MS = 3_600_000


@runtime_checkable
class Store(Protocol):
    """A tenant-aware metrics store. Every call is a coroutine; none blocks the event loop.

    Semantics shared by all implementations:

    * ``write`` returns once the samples are durable as the backend defines it (DuckDB: the
      transaction committed to its write-ahead log) and visible to reads (VictoriaMetrics
      with ``flush_writes``; otherwise within about a second).
    * Time ranges are closed: ``start_ms <= ts <= end_ms``.
    * Tenants never see each other's series, names, labels or values.
    * ``series``, ``label_names`` and ``label_values`` filter by time at the granularity of
      the backend (DuckDB: each series' first..last sample; VictoriaMetrics: UTC days).
      Without a range they consider all retained data.
    * ``query_instant`` and ``query_range`` answer PromQL (the subset in ``docs/promql.md``;
      VictoriaMetrics answers MetricsQL, a superset) in the Prometheus HTTP API's shape.
      They raise :class:`~agentdeck.tsdb.promql.PromQLError` for a query that cannot be
      evaluated (bad_data), :class:`~agentdeck.tsdb.promql.QueryTimeout` past ``timeout_s``
      and :class:`StoreError` when the backend fails.
    """

    backend: str

    async def write(self, tenant_id: UUID, batch: SampleBatch) -> WriteResult:
        """Store the batch; durable (and visible, see above) when this returns."""
        ...

    async def select(
        self, tenant_id: UUID, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[Series]:
        """Samples of every series matching all ``matchers``, within ``[start_ms, end_ms]``.

        Series without samples in the range are left out. Series come sorted by their labels
        (name first), samples by timestamp.
        """
        ...

    async def series(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher],
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, str]]:
        """Label sets (with ``__name__``) of the matching series, sorted."""
        ...

    async def label_names(
        self,
        tenant_id: UUID,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        """Sorted label names in use (``__name__`` included when any series exists)."""
        ...

    async def label_values(
        self,
        tenant_id: UUID,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        """Sorted values of label ``name`` (``__name__`` gives metric names)."""
        ...

    async def query_instant(
        self, tenant_id: UUID, query: str, time_ms: int, *, timeout_s: float
    ) -> QueryData:
        """The value of the PromQL ``query`` at ``time_ms``."""
        ...

    async def query_range(
        self,
        tenant_id: UUID,
        query: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float,
    ) -> QueryData:
        """The value of ``query`` at ``start_ms, start_ms + step_ms, … <= end_ms`` (a matrix).

        The caller checks the range (a positive step, ``end_ms >= start_ms``, at most
        :data:`~agentdeck.tsdb.promql.MAX_POINTS` steps).
        """
        ...

    async def delete_before(self, tenant_id: UUID, ts_ms: int) -> None:
        """Retention: samples (and rollups) older than ``ts_ms`` are no longer returned."""
        ...

    async def rollup(self, tenant_id: UUID, before_ms: int) -> int:
        """Downsample raw samples older than ``before_ms`` into 1-minute and 1-hour rollups.

        Returns how many raw samples were newly rolled up (0 where the backend does its own).
        """
        ...

    async def active_series_count(
        self, tenant_id: UUID, *, window_ms: int = ACTIVE_WINDOW_MS, now_ms: int | None = None
    ) -> int:
        """Series whose newest sample is within ``window_ms`` before ``now_ms`` (or later)."""
        ...

    async def flush(self) -> None:
        """Make everything written so far visible to reads."""
        ...

    async def stats(self) -> StoreStats: ...

    async def ping(self) -> None:
        """A cheap round trip to the backend (readiness): returns when it answers, raises
        :class:`StoreError` when it does not or could not take writes."""
        ...

    async def close(self) -> None:
        """Finish pending writes and release files, threads and connections."""
        ...
