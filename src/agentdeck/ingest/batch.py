"""The one shape every decoder hands the ingest core: :class:`Batch`.

A batch carries its samples in one of two encodings, chosen by what the decoder has at hand:

* rows, plain ``(name, labels, value, timestamp_ms, index)`` tuples (:data:`Row`) from
  decoders that walk a document sample by sample (the general JSON parser, the agent report,
  the scraper, OTLP points outside the bulk path);
* columns, per-sample arrays with a token per label set (:class:`SampleColumns`) or with
  numbered names and tokens (:class:`KeyedColumns`), from decoders that read in bulk (the JSON
  fast path, OTLP protobuf, remote write), so nothing walks one Python object per sample.

The core reads rows as columns (:func:`columns_from_rows`), so there is
one validation and write path for both. ``index`` is a sample's position in the request
(several samples share one when they come from one data point, as a histogram's buckets
do); every refusal carries it back as a :class:`SampleError`, with the ``reason`` counted on
``/metrics``.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from agentdeck.ingest.models import MetricType
from agentdeck.tsdb.base import MAX_TIMESTAMP_MS, Float64Array, IndexArray, Int64Array

#: A sample as a decoder delivered it: (name, labels, value, timestamp in ms or ``None`` for
#: "now", index in the request). Nothing is validated yet.
Row = tuple[Any, Mapping[str, Any] | None, Any, int | None, int]

#: Why a sample is refused: (reason for /metrics, field at fault, message).
Invalid = tuple[str, str, str]

_FIRST, _SECOND, _THIRD, _FOURTH, _FIFTH = map(itemgetter, range(5))
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_RANGE_MESSAGE = "value must be a finite number"
_NOT_A_NUMBER = ("invalid_value", "value", "value must be a number")


@dataclass(slots=True)
class MetricMeta:
    """Metadata of a metric family: type, unit and help (the newest report wins)."""

    name: str
    type: MetricType
    unit: str = ""
    help: str = ""


@dataclass(slots=True)
class SampleError:
    """Why the sample at ``index`` was refused: the ``field`` at fault, a ``message`` for the
    client, and the ``reason`` counted on ``/metrics``."""

    index: int
    field: str
    message: str
    reason: str = "invalid"


@dataclass(slots=True)
class SampleColumns:
    """Samples as columns.

    Sample ``i`` is metric ``names[i]`` with the label set ``label_sets[tokens[i]]`` at
    ``timestamps[i]`` (ms) with ``values[i]``; ``indexes[i]`` is its position in the request
    (``None``: ``0..n-1``). A token is any hashable value standing for one label set (the raw
    bytes of a JSON object, a tuple of pairs…): equal tokens must mean equal label sets, and
    ``label_sets`` must hold every token (a label mapping, ``None`` for no labels, or an
    :data:`Invalid` saying why the label set is refused). The core looks a token up only the
    first time a tenant sends it with a given name.

    ``problems`` (sample position → :data:`Invalid`) refuses samples whose value or timestamp
    could not be read, unless their series is refused first (their ``values`` are NaN).
    """

    names: Sequence[str]
    tokens: Sequence[Hashable]
    label_sets: Mapping[Any, Mapping[str, Any] | Invalid | None]
    timestamps: Int64Array
    values: Float64Array
    indexes: Int64Array | None = None
    problems: Mapping[int, Invalid] | None = None

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(slots=True)
class KeyedColumns:
    """Samples as columns with their names and label sets numbered.

    Sample ``i`` is metric ``names[name_ids[i]]`` with the label set
    ``label_sets[tokens[token_ids[i]]]`` at ``timestamps[i]`` (ms) with ``values[i]``;
    ``indexes[i]`` is its position in the request (``None``: ``0..n-1``). Tokens are as in
    :class:`SampleColumns`. The core then looks series up once per distinct (name, token)
    pair of the batch, not once per sample.
    """

    names: Sequence[str]
    name_ids: IndexArray
    tokens: Sequence[Hashable]
    token_ids: IndexArray
    label_sets: Mapping[Any, Mapping[str, Any] | Invalid | None]
    timestamps: Int64Array
    values: Float64Array
    indexes: Int64Array | None = None

    def __len__(self) -> int:
        return len(self.timestamps)


Samples = Sequence[Row] | SampleColumns | KeyedColumns


@dataclass(slots=True)
class Batch:
    """One request's samples for the ingest core, whatever its wire format.

    ``errors`` are samples the decoder already refused (counted and answered with the core's
    own); ``agents`` are the ``agent`` label values the request names (their liveness is
    updated); ``now_ms`` is the time given to samples without a timestamp (``None``: when the
    core sees them).
    """

    samples: Samples = ()
    metadata: list[MetricMeta] = field(default_factory=list)
    errors: list[SampleError] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)
    now_ms: int | None = None

    def refuse(self, index: int, reason: str, where: str, message: str) -> None:
        """Refuse the sample at ``index`` while decoding."""
        self.errors.append(SampleError(index, where, message, reason))

    def __len__(self) -> int:
        return len(self.samples)


@dataclass(slots=True)
class IngestResult:
    accepted: int
    rejected: int
    errors: list[SampleError]


# --- rows as columns -----------------------------------------------------------------------


class _Unhashable:
    """The token of a label mapping whose values cannot be hashed (they are refused when the
    core validates the mapping); unique per mapping, so nothing else shares its entry."""

    __slots__ = ()


def columns_from_rows(rows: Sequence[Row], *, now_ms: int) -> SampleColumns:
    """The same samples as :class:`~agentdeck.ingest.batch.SampleColumns`, in the same order.

    Label mappings are told apart by object first (decoders that share one dict between the
    rows of a series have it made a token once). A sample without a timestamp gets
    ``now_ms``; a value that is not a number, or a timestamp beyond int64, is recorded in
    ``problems`` (the core refuses the sample unless its series is refused first).
    """
    n = len(rows)
    names: list[Any] = list(map(_FIRST, rows))
    if any(type(name) is not str for name in names):
        names = [name if type(name) is str else "" for name in names]  # "" reads as missing
    tokens, label_sets = _label_tokens(list(map(_SECOND, rows)))
    problems: dict[int, Invalid] = {}
    values = _values(list(map(_THIRD, rows)), problems)
    timestamps = _timestamps(list(map(_FOURTH, rows)), now_ms, values, problems)
    return SampleColumns(
        names,
        tokens,
        label_sets,
        timestamps,
        values,
        np.fromiter(map(_FIFTH, rows), dtype=np.int64, count=n),
        problems or None,
    )


def _label_tokens(
    dicts: list[Mapping[str, Any] | None],
) -> tuple[list[Hashable], dict[Hashable, Mapping[str, Any] | None]]:
    """A token per sample and the label set of each token (one per distinct mapping)."""
    token_of: dict[int, Hashable] = {}
    label_sets: dict[Hashable, Mapping[str, Any] | None] = {}
    for labels in dict(zip(map(id, dicts), dicts, strict=True)).values():
        token: Hashable = None if labels is None else tuple(labels.items())
        try:
            label_sets[token] = labels
        except TypeError:  # a value that is no string (a list, an object): refused later
            token = _Unhashable()
            label_sets[token] = labels
        token_of[id(labels)] = token
    return list(map(token_of.__getitem__, map(id, dicts))), label_sets


def _values(values: list[Any], problems: dict[int, Invalid]) -> Float64Array:
    """The values as float64; those that are no number become NaN and a problem."""
    if all(type(value) is float for value in values):
        return np.fromiter(values, dtype=np.float64, count=len(values))
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if type(value) is float:
            out[i] = value
        elif type(value) is int or (isinstance(value, int | float) and type(value) is not bool):
            try:
                out[i] = float(value)
            except OverflowError:  # an integer beyond float64
                out[i] = math.nan
                problems[i] = ("invalid_value", "value", _RANGE_MESSAGE)
        else:
            out[i] = math.nan
            problems[i] = _NOT_A_NUMBER
    return out


def _timestamps(
    stamps: list[int | None], now_ms: int, values: Float64Array, problems: dict[int, Invalid]
) -> Int64Array:
    """The timestamps as int64 (``None`` is now). One above int64 is refused here (unless
    its value is refused already); one below it becomes the smallest int64 (older than any
    retention)."""
    if None in stamps:
        stamps = [now_ms if ts is None else ts for ts in stamps]
    try:
        return np.fromiter(stamps, dtype=np.int64, count=len(stamps))
    except (OverflowError, TypeError):
        pass
    fitted: list[int] = []
    for i, ts in enumerate(stamps):
        assert ts is not None
        if ts > _INT64_MAX:
            if i not in problems and not math.isnan(values[i]):
                message = f"timestamp {ts} is not a millisecond time (above {MAX_TIMESTAMP_MS})"
                problems[i] = ("too_far_in_future", "timestamp", message)
                values[i] = math.nan
            ts = 0
        fitted.append(max(int(ts), _INT64_MIN))
    return np.asarray(fitted, dtype=np.int64)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector during a burst of allocations.

    Decoding and validating a 10,000-sample batch creates tens of thousands of containers;
    with the collector on, that triggers dozens of young-generation collections per request
    and a full collection of the server's whole heap every few requests. Pausing it over the
    (synchronous, await-free) burst leaves one collection afterwards. Nothing here creates
    reference cycles, so no memory is held longer than the burst.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
