"""OTLP protobuf requests translated in bulk: no Python object per gauge or sum data point.

:func:`translate_protobuf` gives what ``translate(parse_request(body))`` gives (the same
samples in the same order, the same metadata, errors and point indexes), with far less work
per data point:

* The body is parsed as a *shadow* ``ExportMetricsServiceRequest``, declared at runtime with
  ``google.protobuf`` descriptors: the real messages, except that ``Gauge.data_points`` and
  ``Sum.data_points`` are ``repeated bytes``, so the protobuf library hands over each point's
  encoded bytes instead of building a message object for it. Resources, scopes, histograms
  and summaries keep their real types and are translated the ordinary way.
* The points of all gauges and sums of the request are concatenated and read together with
  numpy (:func:`scan_points`), one step per field for all points at once, in whatever order the
  fields come. A point with anything unusual (an exemplar, an unknown field, a wire type or
  a long varint the scan does not expect) is decoded with the real ``NumberDataPoint``
  message instead, as before.
* Attributes stay the bytes they were sent as. Points whose attribute bytes equal their
  predecessor's (in the same resource) share its labels; each distinct value is parsed and
  translated once and remembered across requests. With the resource's labels, the bytes
  form the label-set token of the :class:`~agentdeck.ingest.core.SampleColumns` handed
  to ingest, so ingest, too, sees each label set once.

When the shadow parse, an attribute parse or a point parse fails, the body is parsed again the
ordinary way, which raises the usual error (a ``malformed-body``
:class:`~agentdeck.errors.Malformed`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError
from opentelemetry.proto.metrics.v1 import metrics_pb2

from agentdeck.ingest.batch import Batch, SampleColumns, columns_from_rows, paused_gc
from agentdeck.ingest.decoders import otlp
from agentdeck.ingest.decoders.otlp_wire import (
    NEGATIVE_ZERO,
    PADDING,
    same_as_previous,
    scan_points,
    shadow_request,
    words_of,
)
from agentdeck.ingest.models import MetricType
from agentdeck.tsdb.names import OTelMetricType

_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
_Bool = npt.NDArray[np.bool_]

_INDEX = itemgetter(4)
_DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
_GAUGE = (OTelMetricType.gauge, MetricType.gauge, False)
_COUNTER = (OTelMetricType.monotonic_counter, MetricType.counter, False)
_UPDOWN = (OTelMetricType.non_monotonic_counter, MetricType.gauge, False)

#: Attribute bytes → their labels (without the resource's), remembered across requests.
_ATTRIBUTES: dict[bytes, dict[str, str]] = {}
_ATTRIBUTES_MAX = 50_000
#: Longer attribute bytes are not remembered (they would hold much memory for little gain).
_REMEMBERED_BYTES = 2048
#: Tokens (see ``_BulkTranslator._tokens``) → their label sets, remembered across requests.
_LABEL_SETS: dict[tuple[str, bytes], dict[str, str]] = {}
#: Encoded resources → their labels (never changed: label sets share the dict).
_RESOURCES: dict[bytes, dict[str, str]] = {}
#: Resource labels (as a tuple of items) → the text standing for them in tokens.
_BASE_KEYS: dict[tuple[tuple[str, str], ...], str] = {}
_BASE_KEYS_MAX = 10_000


class _Fallback(Exception):
    """The fast path cannot decode this body; the ordinary path answers (and says why)."""


# --- the translator --------------------------------------------------------------------------


class _BulkTranslator(otlp._Translator):
    """The ordinary translator, except that gauge and sum points are queued (:meth:`scope`) and
    decoded together (:meth:`finish`)."""

    def __init__(self, now_ms: int) -> None:
        super().__init__(now_ms)
        #: The encoded points of every gauge and sum, in order.
        self.chunks: list[bytes] = []
        #: Per gauge or sum: (first point index, point count, name, delta, resource ordinal).
        self.queued: list[tuple[int, int, str, bool, int]] = []
        self.bases: list[dict[str, str]] = []
        self.base_keys: list[str] = []
        self.resource_index = -1

    def resource(self, base: dict[str, str]) -> None:
        """The labels of the resource whose metrics come next."""
        items = tuple(base.items())
        key = _BASE_KEYS.get(items)
        if key is None:
            key = repr(items)
            if len(_BASE_KEYS) >= _BASE_KEYS_MAX:
                _BASE_KEYS.clear()
            _BASE_KEYS[items] = key
        self.resource_index = len(self.bases)
        self.bases.append(base)
        self.base_keys.append(key)

    def scope(self, metrics: Iterable[Any], base: dict[str, str]) -> None:
        """Translate the metrics of one scope: gauges and sums are queued, others translated
        by :meth:`metric` as usual.

        The ordinary translator's steps for gauges and sums, with as few field reads and
        calls as can be: each field read costs ~100 ns, and a request may carry thousands of
        metrics.
        """
        out = self.out
        add_range = out.ranges.append
        chunks = self.chunks
        queue = self.queued.append
        seen = self._seen_meta
        names = otlp._NAME_CACHE
        resource = self.resource_index
        for metric in metrics:
            data = metric.WhichOneof("data")
            if data == "gauge":
                points = metric.gauge.data_points
                kind, meta, delta = _GAUGE
            elif data == "sum":
                s = metric.sum
                points = s.data_points
                kind, meta, _ = _COUNTER if s.is_monotonic else _UPDOWN
                delta = s.aggregation_temporality == _DELTA
            else:
                self.metric(metric, base)
                continue
            otel_name: str = metric.name
            named = names.get((otel_name, metric.unit, kind))
            if named is None:
                translated = self._name(metric, data, kind)
                if translated is None:  # points refused; they must still be well-formed
                    _check_points(points)
                    continue
                named = translated[:2]
            name = named[0]
            if name not in seen:
                self._meta(name, meta, named[1], metric)
            first = out.points
            count = len(points)
            add_range((first, otel_name))
            out.points = first + count
            chunks += points[:]
            queue((first, count, name, delta, resource))

    def finish(self) -> otlp.Translation:
        """Decode the queued points; the translation, as the ordinary translator gives it."""
        if self.chunks:
            self._decode()
        out = self.out
        # Rows may come from several places (histograms, unusual points, bulk deltas).
        for rows in (out.rows, out.deltas):
            if len(rows) > 1:
                rows.sort(key=_INDEX)
        return out

    def _decode(self) -> None:
        firsts, counts, names, deltas, resources = zip(*self.queued, strict=True)
        sizes = np.asarray(counts, dtype=np.int64)
        lengths = np.fromiter(map(len, self.chunks), dtype=np.int64, count=len(self.chunks))
        ends = np.cumsum(lengths)
        buffer = b"".join(self.chunks) + PADDING
        words = words_of(buffer)
        scan = scan_points(buffer, words, ends - lengths, ends)
        # Per point: its metric (position in `queued`) and its index in the request.
        metric = np.repeat(np.arange(len(sizes)), sizes)
        index = np.repeat(np.asarray(firsts, dtype=np.int64) - (np.cumsum(sizes) - sizes), sizes)
        index += np.arange(len(metric))
        if not scan.ok.all():
            self._slow_points(np.flatnonzero(~scan.ok), metric, index)
        recorded = (scan.flags & np.uint64(otlp._NO_RECORDED_VALUE)) == 0
        if not recorded[scan.ok].all():
            # Skipped, but their attributes must be valid, as a full parse would check.
            for position in np.flatnonzero(scan.ok & ~recorded).tolist():
                begin, end = int(scan.attr_start[position]), int(scan.attr_end[position])
                if begin >= 0:
                    _labels_of(buffer[begin:end])
        picked = np.flatnonzero(scan.ok & recorded)
        if not len(picked):
            return
        metric = metric[picked]
        time = scan.time[picked]
        timestamps = np.where(time == 0, np.uint64(self.now_ms), time // np.uint64(1_000_000))
        raw, kind = scan.raw[picked], scan.kind[picked]
        # -0.0 becomes 0.0, as `as_double or float(as_int)` gives (on the bits: arithmetic
        # would warn about signalling NaNs).
        raw[(raw == NEGATIVE_ZERO) & (kind == 1)] = 0
        values = np.where(kind == 2, raw.view(np.int64).astype(np.float64), raw.view(np.float64))
        resource = np.asarray(resources, dtype=np.int64)[metric]
        tokens, label_sets = self._tokens(
            buffer, words, scan.attr_start[picked], scan.attr_end[picked], resource
        )
        columns = SampleColumns(
            np.asarray(names, dtype=object)[metric].tolist(),
            tokens,
            label_sets,
            timestamps.astype(np.int64),
            values,
            index[picked],
        )
        delta = np.asarray(deltas, dtype=bool)[metric]
        if delta.any():
            which = np.flatnonzero(delta)
            positions = which.tolist()
            self.out.deltas.extend(
                zip(
                    [columns.names[i] for i in positions],
                    [label_sets[tokens[i]] for i in positions],
                    values[which].tolist(),
                    columns.timestamps[which].tolist(),
                    index[picked][which].tolist(),
                    strict=True,
                )
            )
            columns = _take(columns, np.flatnonzero(~delta))
        if len(columns):
            self.out.columns = columns

    def _tokens(
        self, buffer: bytes, words: _U64, start: _I64, end: _I64, resource: _I64
    ) -> tuple[list[Hashable], dict[Hashable, dict[str, str]]]:
        """A label-set token per point, and the label set of each token.

        A token is (the resource's labels as text, the attribute bytes); a point whose
        attribute bytes equal the previous point's (of the same resource) shares its token.
        """
        length = np.where(start >= 0, end - start, 0)
        same = same_as_previous(words, np.maximum(start, 0), length, resource)
        runs = np.flatnonzero(~same)
        base_keys, bases = self.base_keys, self.bases
        tokens: list[Hashable] = []
        add = tokens.append
        label_sets: dict[Hashable, dict[str, str]] = {}
        for size, begin, stop, which in zip(
            np.diff(runs, append=len(start)).tolist(),
            start[runs].tolist(),
            end[runs].tolist(),
            resource[runs].tolist(),
            strict=True,
        ):
            token = (base_keys[which], buffer[begin:stop] if begin >= 0 else b"")
            if token not in label_sets:
                label_sets[token] = _label_set(token, bases[which])
            if size == 1:
                add(token)
            else:
                tokens += [token] * size
        return tokens, label_sets

    def _slow_points(self, which: _I64, metric: _I64, index: _I64) -> None:
        """Points the scan left: decoded as ``NumberDataPoint`` messages, as before."""
        parse = metrics_pb2.NumberDataPoint.FromString
        for position in which.tolist():
            _, _, name, delta, resource = self.queued[int(metric[position])]
            try:
                point = parse(self.chunks[position])
            except DecodeError as exc:
                raise _Fallback from exc
            if point.flags & otlp._NO_RECORDED_VALUE:
                continue
            labels = self._labels(point.attributes, self.bases[resource])
            t = point.time_unix_nano
            value = point.as_double or float(point.as_int)
            ts = t // 1_000_000 if t else self.now_ms
            (self.out.deltas if delta else self.out.rows).append(
                (name, labels, value, ts, int(index[position]))
            )


def _check_points(points: Iterable[bytes]) -> None:
    """Decode each point, as a full parse would (and fail as it would)."""
    parse = metrics_pb2.NumberDataPoint.FromString
    try:
        for point in points:
            parse(point)
    except DecodeError as exc:
        raise _Fallback from exc


def _label_set(token: tuple[str, bytes], base: dict[str, str]) -> dict[str, str]:
    """The labels of a point with the resource labels ``base`` and the attribute bytes of
    ``token``, remembered."""
    attributes = token[1]
    if not attributes:
        return base
    labels = _LABEL_SETS.get(token)
    if labels is None:
        labels = dict(_labels_of(attributes))
        labels.update(base)
        if len(attributes) <= _REMEMBERED_BYTES:
            if len(_LABEL_SETS) >= _ATTRIBUTES_MAX:
                _LABEL_SETS.clear()
            _LABEL_SETS[token] = labels
    return labels


def _labels_of(attributes: bytes) -> dict[str, str]:
    """The labels of encoded attributes (``KeyValue`` fields 7), remembered."""
    labels = _ATTRIBUTES.get(attributes)
    if labels is None:
        try:
            parsed = shadow_request()[1].FromString(attributes)
        except DecodeError as exc:
            raise _Fallback from exc
        labels = otlp.attribute_labels(parsed.attributes)
        if len(attributes) <= _REMEMBERED_BYTES:
            if len(_ATTRIBUTES) >= _ATTRIBUTES_MAX:
                _ATTRIBUTES.clear()
            _ATTRIBUTES[attributes] = labels
    return labels


def _take(columns: SampleColumns, which: _I64) -> SampleColumns:
    """Samples ``which`` of ``columns``."""
    assert columns.problems is None  # OTLP values are floats
    n = len(columns)
    return SampleColumns(
        np.fromiter(columns.names, dtype=object, count=n)[which].tolist(),
        np.fromiter(columns.tokens, dtype=object, count=n)[which].tolist(),
        columns.label_sets,
        columns.timestamps[which],
        columns.values[which],
        _indexes(columns)[which],
    )


def _translate(body: bytes, now_ms: int) -> otlp.Translation:
    request = shadow_request()[0]()
    request.ParseFromString(body)
    translator = _BulkTranslator(now_ms)
    for resource_metrics in request.resource_metrics:
        resource = resource_metrics.resource
        encoded = resource.SerializeToString()  # cheaper than reading its attributes
        base = _RESOURCES.get(encoded)
        if base is None:
            base = otlp.resource_labels(resource.attributes)
            if len(_RESOURCES) >= _BASE_KEYS_MAX:
                _RESOURCES.clear()
            _RESOURCES[encoded] = base
        translator.resource(base)
        for scope_metrics in resource_metrics.scope_metrics:
            translator.scope(scope_metrics.metrics, base)
    return translator.finish()


def translate_protobuf(body: bytes, *, now_ms: int) -> otlp.Translation:
    """``translate(parse_request(body, PROTOBUF))``, in bulk (see the module doc).

    Raises :class:`~agentdeck.errors.Malformed` as :func:`parse_request` does.
    """
    try:
        with paused_gc():
            return _translate(body, now_ms)
    except (_Fallback, DecodeError):
        return otlp.translate(otlp.parse_request(body, otlp.PROTOBUF), now_ms=now_ms)


# --- handing the samples to ingest -----------------------------------------------------------


def batch(
    translation: otlp.Translation, cumulative: Sequence[otlp.Row] = (), *, now_ms: int
) -> Batch:
    """The request as the ingest core takes it: the bulk-decoded samples and ``rows`` in point
    order, then the ``cumulative`` rows (delta points made cumulative), as columns; the
    translation's metadata and refusals. Samples without a timestamp get ``now_ms``."""
    bulk = translation.columns
    rows = columns_from_rows(translation.rows, now_ms=now_ms) if translation.rows else None
    deltas = columns_from_rows(cumulative, now_ms=now_ms) if cumulative else None
    if bulk is None:
        ordered = rows
    elif rows is None:
        ordered = bulk
    else:
        ordered = _by_index(_concat(bulk, rows))
    if deltas is not None:
        ordered = deltas if ordered is None else _concat(ordered, deltas)
    return Batch(
        () if ordered is None else ordered,
        metadata=translation.metadata,
        errors=translation.errors,
        now_ms=now_ms,
    )


def _concat(first: SampleColumns, second: SampleColumns) -> SampleColumns:
    assert first.problems is None and second.problems is None  # OTLP values are floats
    return SampleColumns(
        [*first.names, *second.names],
        [*first.tokens, *second.tokens],
        {**first.label_sets, **second.label_sets},
        np.concatenate([first.timestamps, second.timestamps]),
        np.concatenate([first.values, second.values]),
        np.concatenate([_indexes(first), _indexes(second)]),
    )


def _indexes(columns: SampleColumns) -> _I64:
    if columns.indexes is None:
        return np.arange(len(columns), dtype=np.int64)
    return columns.indexes


def _by_index(columns: SampleColumns) -> SampleColumns:
    order = np.argsort(_indexes(columns), kind="stable")
    if (order[1:] > order[:-1]).all():
        return columns
    return _take(columns, order)
