"""OTLP metrics: decode an ``ExportMetricsServiceRequest`` and translate it to samples.

The translation follows Prometheus's OTLP receiver (names and labels through
:mod:`agentdeck.tsdb.names`); ``docs/otlp.md`` lists every rule with examples. The output is
rows for the ingest core (:data:`~agentdeck.ingest.batch.Row`: ``(name, labels, value,
timestamp_ms, index)`` as a plain tuple, without an object per sample) and ``MetricMeta``
lists; :func:`~agentdeck.ingest.decoders.otlp_fast.batch` hands them over as one
:class:`~agentdeck.ingest.batch.Batch`, and ingest validates and writes them.

A row's ``index`` is the ordinal of the OTLP *data point* the sample came from (a histogram
point gives several samples with the same index), so refused samples map back to the data
points that ``partial_success.rejected_data_points`` counts.

Delta temporality: delta sums and delta histograms are turned into cumulative series by
:class:`~.otlp_deltas.DeltaAccumulator`, which keeps the running totals in memory, per
tenant and series. A restart starts the totals again from zero (a counter reset, which
``rate``/``increase`` handle); with several replicas, each keeps its own totals, so one
exporter's deltas should go to one replica.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from agentdeck.compression import OTLP_JSON, OTLP_PROTOBUF, malformed_body, otlp_media_type
from agentdeck.ingest.batch import MetricMeta, SampleColumns, SampleError
from agentdeck.ingest.models import MetricType
from agentdeck.tsdb.names import (
    InvalidName,
    OTelMetricType,
    otel_label_name,
    otel_metric_name,
    otel_unit_suffix,
)

PROTOBUF = OTLP_PROTOBUF
JSON = OTLP_JSON
#: The body type a ``Content-Type`` names (415 for any other).
media_type = otlp_media_type

_DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
_NO_RECORDED_VALUE = metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK

#: A sample for ingest: (name, labels, value, timestamp in ms or None for now, point index).
Row = tuple[str, dict[str, str], float, int | None, int]

#: Resource attributes naming the agent, in order of preference.
AGENT_ATTRIBUTES = ("service.name", "gen_ai.agent.name", "gen_ai.agent.id")


# --- decoding --------------------------------------------------------------------------------


def parse_request(body: bytes, kind: str) -> ExportMetricsServiceRequest:
    """Decode the (decompressed) body in the given encoding."""
    request = ExportMetricsServiceRequest()
    if kind == JSON:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise malformed_body(f"the body is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise malformed_body("the JSON body must be an object")
        try:
            json_format.ParseDict(document, request, ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError) as exc:
            raise malformed_body(f"the JSON body is not an OTLP metrics request: {exc}") from None
        return request
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise malformed_body(f"the body is not a protobuf OTLP metrics request: {exc}") from None
    return request


def encode_response(rejected: int, message: str, kind: str) -> bytes:
    """An ``ExportMetricsServiceResponse`` in the request's encoding."""
    response = ExportMetricsServiceResponse()
    if rejected or message:
        response.partial_success.rejected_data_points = rejected
        response.partial_success.error_message = message
    if kind == JSON:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()


# --- translation -----------------------------------------------------------------------------


@dataclass(slots=True)
class Translation:
    """What one request turned into."""

    rows: list[Row] = field(default_factory=list)
    #: Rows whose value is a delta, still to be made cumulative by a DeltaAccumulator.
    deltas: list[Row] = field(default_factory=list)
    metadata: list[MetricMeta] = field(default_factory=list)
    #: (first point index, OTel metric name) per metric, in order (for messages).
    ranges: list[tuple[int, str]] = field(default_factory=list)
    #: Data points seen.
    points: int = 0
    #: Data points refused here, before ingest, with the reason for ``/metrics``.
    errors: list[SampleError] = field(default_factory=list)
    #: Samples decoded in bulk (gauge and sum points of protobuf requests, see
    #: :mod:`.otlp_fast`), in point order; ``rows`` and ``deltas`` hold the others.
    columns: SampleColumns | None = None

    def metric_of(self, index: int) -> str:
        """The OTel name of the metric data point ``index`` belongs to."""
        position = bisect.bisect_right(self.ranges, index, key=lambda r: r[0]) - 1
        return self.ranges[position][1] if position >= 0 else ""

    def reject(self, index: int, reason: str, message: str) -> None:
        self.errors.append(SampleError(index, "data_point", message, reason))


_LABEL_CACHE: dict[str, str] = {}
_LABEL_CACHE_MAX = 10_000


def _label_name(key: str) -> str:
    name = _LABEL_CACHE.get(key)
    if name is None:
        name = otel_label_name(key)
        if len(_LABEL_CACHE) < _LABEL_CACHE_MAX:
            _LABEL_CACHE[key] = name
    return name


def format_float(value: float) -> str:
    """Go's ``FormatFloat(v, 'f', -1, 64)`` as Prometheus uses for ``le``/``quantile``."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return str(np.format_float_positional(value, trim="-"))


def _any_value(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return format_float(value.double_value)
    if kind is None:
        return ""
    return json.dumps(_any_json(value), separators=(",", ":"))


def _any_json(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any_json(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_json(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind == "double_value":
        return value.double_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    return value.string_value


def attribute_labels(attributes: Sequence[KeyValue]) -> dict[str, str]:
    """Data point attributes as labels: keys translated, colliding keys joined with ``;``.

    Keys that translate to nothing usable (empty, only underscores) are left out.
    """
    out: dict[str, str] = {}
    for kv in attributes:
        try:
            name = _label_name(kv.key)
        except InvalidName:
            continue
        if name in out:
            return _joined_labels(attributes)
        value = kv.value
        kind = value.WhichOneof("value")
        out[name] = value.string_value if kind == "string_value" else _any_value(value)
    return out


def _joined_labels(attributes: Sequence[KeyValue]) -> dict[str, str]:
    """Keys that map to one label (``a.b`` and ``a_b``): values joined in key order, as
    Prometheus does."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for kv in attributes:
        try:
            name = _label_name(kv.key)
        except InvalidName:
            continue
        groups.setdefault(name, []).append((kv.key, _any_value(kv.value)))
    return {name: ";".join(text for _, text in sorted(items)) for name, items in groups.items()}


def resource_labels(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """``agent``, ``job`` and ``instance`` from resource attributes, as documented."""
    attrs = {kv.key: _any_value(kv.value) for kv in attributes}
    labels: dict[str, str] = {}
    service = attrs.get("service.name", "")
    namespace = attrs.get("service.namespace", "")
    if service:
        labels["job"] = f"{namespace}/{service}" if namespace else service
    instance = attrs.get("service.instance.id", "")
    if instance:
        labels["instance"] = instance
    agent = ""
    for key in AGENT_ATTRIBUTES:
        candidate = attrs.get(key, "")
        # The SDK's placeholder "unknown_service:..." does not name an agent.
        if candidate and not (key == "service.name" and candidate.startswith("unknown_service")):
            agent = candidate
            break
    if agent:
        labels["agent"] = agent
    return labels


_NAME_CACHE: dict[tuple[str, str, OTelMetricType], tuple[str, str]] = {}
_NAME_CACHE_MAX = 10_000


def _prometheus_name(name: str, unit: str, kind: OTelMetricType) -> tuple[str, str]:
    """(Prometheus metric name, Prometheus unit), remembered: exporters repeat their names."""
    key = (name, unit, kind)
    found = _NAME_CACHE.get(key)
    if found is None:
        found = (otel_metric_name(name, unit, kind), otel_unit_suffix(unit))
        if len(_NAME_CACHE) < _NAME_CACHE_MAX:
            _NAME_CACHE[key] = found
    return found


class _Translator:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.out = Translation()
        self._seen_meta: set[str] = set()

    def _ts(self, time_unix_nano: int) -> int:
        return time_unix_nano // 1_000_000 if time_unix_nano else self.now_ms

    def _start(self, otel_name: str, count: int) -> int:
        """Reserve ``count`` point indexes for a metric; returns the first."""
        first = self.out.points
        self.out.ranges.append((first, otel_name))
        self.out.points += count
        return first

    def _meta(self, name: str, kind: MetricType, unit: str, metric: Any) -> None:
        if name in self._seen_meta:
            return
        self._seen_meta.add(name)
        help_text = metric.description
        self.out.metadata.append(MetricMeta(name=name, type=kind, unit=unit, help=help_text))

    def _name(self, metric: Any, data: str, kind: OTelMetricType) -> tuple[str, str, str] | None:
        """(Prometheus name, Prometheus unit, OTel name), or ``None`` with the metric's points
        rejected when its name cannot be translated."""
        otel_name: str = metric.name
        try:
            name, prom_unit = _prometheus_name(otel_name, metric.unit, kind)
        except InvalidName as exc:
            count = len(_points(metric, data))
            first = self._start(otel_name, count)
            for index in range(first, first + count):
                self.out.reject(index, "invalid_name", str(exc))
            return None
        return name, prom_unit, otel_name

    def metric(self, metric: metrics_pb2.Metric, base: dict[str, str]) -> None:
        data = metric.WhichOneof("data")
        if data is None:
            return
        named = self._name(metric, data, _METRIC_TYPE[data](metric))
        if named is None:
            return
        name, prom_unit, otel_name = named
        if data == "gauge":
            self._meta(name, MetricType.gauge, prom_unit, metric)
            self._numbers(name, otel_name, metric.gauge.data_points, base, delta=False)
        elif data == "sum":
            s = metric.sum
            kind = MetricType.counter if s.is_monotonic else MetricType.gauge
            self._meta(name, kind, prom_unit, metric)
            delta = s.aggregation_temporality == _DELTA
            self._numbers(name, otel_name, s.data_points, base, delta=delta)
        elif data == "histogram":
            h = metric.histogram
            self._meta(name, MetricType.histogram, prom_unit, metric)
            delta = h.aggregation_temporality == _DELTA
            self._histograms(name, otel_name, h.data_points, base, delta=delta)
        elif data == "summary":
            self._meta(name, MetricType.summary, prom_unit, metric)
            self._summaries(name, otel_name, metric.summary.data_points, base)
        else:  # exponential_histogram
            count = len(metric.exponential_histogram.data_points)
            first = self._start(otel_name, count)
            for index in range(first, first + count):
                self.out.reject(
                    index,
                    "unsupported_type",
                    "exponential histograms are not supported; "
                    "export it with explicit bucket boundaries",
                )

    def _numbers(
        self,
        name: str,
        otel_name: str,
        points: Sequence[metrics_pb2.NumberDataPoint],
        base: dict[str, str],
        *,
        delta: bool,
    ) -> None:
        add = (self.out.deltas if delta else self.out.rows).append
        now_ms = self.now_ms
        labels = base
        previous: Any = None
        for index, p in enumerate(points, self._start(otel_name, len(points))):
            if p.flags & _NO_RECORDED_VALUE:
                continue
            attributes = p.attributes
            if not attributes:
                labels = base
                previous = None
            elif previous is None or attributes != previous:
                # Points of one series often come in a row: their labels are built once.
                labels = attribute_labels(attributes)
                labels.update(base)
                previous = attributes
            t = p.time_unix_nano
            # as_double and as_int are a oneof: the one not set reads as 0.
            value = p.as_double or float(p.as_int)
            add((name, labels, value, t // 1_000_000 if t else now_ms, index))

    def _labels(self, attributes: Sequence[KeyValue], base: dict[str, str]) -> dict[str, str]:
        if not attributes:
            return base
        labels = attribute_labels(attributes)
        labels.update(base)
        return labels

    def _histograms(
        self,
        name: str,
        otel_name: str,
        points: Sequence[metrics_pb2.HistogramDataPoint],
        base: dict[str, str],
        *,
        delta: bool,
    ) -> None:
        add = (self.out.deltas if delta else self.out.rows).append
        bucket = f"{name}_bucket"
        for index, p in enumerate(points, self._start(otel_name, len(points))):
            if p.flags & _NO_RECORDED_VALUE:
                continue
            counts = p.bucket_counts
            bounds = p.explicit_bounds
            if counts and len(counts) != len(bounds) + 1:
                self.out.reject(
                    index,
                    "invalid_histogram",
                    f"{len(counts)} bucket counts for {len(bounds)} bounds "
                    "(expected one more count than bounds)",
                )
                continue
            labels = self._labels(p.attributes, base)
            ts = self._ts(p.time_unix_nano)
            if p.HasField("sum"):
                add((f"{name}_sum", labels, p.sum, ts, index))
            add((f"{name}_count", labels, float(p.count), ts, index))
            if counts:
                running = 0
                for bound, count in zip(bounds, counts, strict=False):
                    running += count
                    le = {**labels, "le": format_float(bound)}
                    add((bucket, le, float(running), ts, index))
                add((bucket, {**labels, "le": "+Inf"}, float(p.count), ts, index))

    def _summaries(
        self,
        name: str,
        otel_name: str,
        points: Sequence[metrics_pb2.SummaryDataPoint],
        base: dict[str, str],
    ) -> None:
        add = self.out.rows.append
        for index, p in enumerate(points, self._start(otel_name, len(points))):
            if p.flags & _NO_RECORDED_VALUE:
                continue
            labels = self._labels(p.attributes, base)
            ts = self._ts(p.time_unix_nano)
            add((f"{name}_sum", labels, p.sum, ts, index))
            add((f"{name}_count", labels, float(p.count), ts, index))
            for q in p.quantile_values:
                quantile = {**labels, "quantile": format_float(q.quantile)}
                add((name, quantile, q.value, ts, index))


def _sum_type(metric: metrics_pb2.Metric) -> OTelMetricType:
    if metric.sum.is_monotonic:
        return OTelMetricType.monotonic_counter
    return OTelMetricType.non_monotonic_counter


_METRIC_TYPE: dict[str, Callable[[metrics_pb2.Metric], OTelMetricType]] = {
    "gauge": lambda m: OTelMetricType.gauge,
    "sum": _sum_type,
    "histogram": lambda m: OTelMetricType.histogram,
    "exponential_histogram": lambda m: OTelMetricType.exponential_histogram,
    "summary": lambda m: OTelMetricType.summary,
}


def _points(metric: metrics_pb2.Metric, data: str) -> Sequence[Any]:
    points: Sequence[Any] = getattr(metric, data).data_points
    return points


def translate(request: ExportMetricsServiceRequest, *, now_ms: int) -> Translation:
    """Rows, delta rows and metadata from a decoded request (see the module doc)."""
    translator = _Translator(now_ms)
    for resource_metrics in request.resource_metrics:
        base = resource_labels(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                translator.metric(metric, base)
    return translator.out
