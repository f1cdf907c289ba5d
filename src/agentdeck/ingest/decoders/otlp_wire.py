"""The wire level of the bulk OTLP path: the *shadow* request messages (points left as bytes)
and the numpy scan that reads the fields of every gauge and sum point of a request at once
(see :mod:`.otlp_fast`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from agentdeck.protodesc import field_spec as _field

_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
_Bool = npt.NDArray[np.bool_]

# NumberDataPoint tags (field number << 3 | wire type); all fit in one byte.
_START_TIME = 0x11  # 2, fixed64
_TIME = 0x19  # 3, fixed64
_AS_DOUBLE = 0x21  # 4, fixed64
_AS_INT = 0x31  # 6, sfixed64
_ATTRIBUTE = 0x3A  # 7, length-delimited KeyValue
_FLAGS = 0x40  # 8, varint
# Each tag's class: what the scan does with it (0: not expected, the point goes the slow way).
_CLASSES = (None, _START_TIME, _TIME, _AS_DOUBLE, _AS_INT, _ATTRIBUTE, _FLAGS)
_TIME_CLASS, _DOUBLE_CLASS, _INT_CLASS, _ATTRIBUTE_CLASS, _FLAGS_CLASS = 2, 3, 4, 5, 6
_CLASS = np.zeros(256, dtype=np.intp)
_CLASS[list(_CLASSES[1:])] = np.arange(1, len(_CLASSES))
#: (tag | next byte << 8) → bytes the field takes; 0 where the scan cannot tell (an
#: unexpected tag, a varint of more than one byte).
_STEPS = np.zeros(1 << 16, dtype=np.int64)
_NEXT = np.arange(256) << 8
for _tag in (_START_TIME, _TIME, _AS_DOUBLE, _AS_INT):
    _STEPS[_NEXT | _tag] = 9
_STEPS[_NEXT[:128] | _ATTRIBUTE] = 2 + np.arange(128)
_STEPS[_NEXT[:128] | _FLAGS] = 2
#: Masks of the low 0..7 bytes of a word.
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)], dtype=np.uint64)
PADDING = bytes(16)  # after the last point, so 8-byte reads never run past the buffer
NEGATIVE_ZERO = np.uint64(1 << 63)


# --- the shadow messages ---------------------------------------------------------------------

_F = descriptor_pb2.FieldDescriptorProto
_PKG = "agentdeck.otlp.shadow"
_OTEL = "opentelemetry.proto"


@functools.cache
def shadow_request() -> tuple[Any, Any]:
    """The shadow request class and a message of only ``repeated KeyValue attributes = 7``."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, metrics_pb2):
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    proto = descriptor_pb2.FileDescriptorProto(
        name="agentdeck/otlp_shadow.proto",
        package=_PKG,
        syntax="proto3",
        dependency=[metrics_pb2.DESCRIPTOR.name],
    )
    message = _F.TYPE_MESSAGE
    metrics = f".{_OTEL}.metrics.v1"
    proto.message_type.add(
        name="ExportMetricsServiceRequest",
        field=[
            _field("resource_metrics", 1, message, f".{_PKG}.ResourceMetrics", repeated=True),
        ],
    )
    proto.message_type.add(
        name="ResourceMetrics",
        field=[
            _field("resource", 1, message, f".{_OTEL}.resource.v1.Resource"),
            _field("scope_metrics", 2, message, f".{_PKG}.ScopeMetrics", repeated=True),
            _field("schema_url", 3, _F.TYPE_STRING),
        ],
    )
    proto.message_type.add(
        name="ScopeMetrics",
        field=[
            _field("scope", 1, message, f".{_OTEL}.common.v1.InstrumentationScope"),
            _field("metrics", 2, message, f".{_PKG}.Metric", repeated=True),
            _field("schema_url", 3, _F.TYPE_STRING),
        ],
    )
    metric = proto.message_type.add(
        name="Metric",
        field=[
            _field("name", 1, _F.TYPE_STRING),
            _field("description", 2, _F.TYPE_STRING),
            _field("unit", 3, _F.TYPE_STRING),
            _field("gauge", 5, message, f".{_PKG}.Gauge", oneof=0),
            _field("sum", 7, message, f".{_PKG}.Sum", oneof=0),
            _field("histogram", 9, message, f"{metrics}.Histogram", oneof=0),
            _field(
                "exponential_histogram", 10, message, f"{metrics}.ExponentialHistogram", oneof=0
            ),
            _field("summary", 11, message, f"{metrics}.Summary", oneof=0),
            _field("metadata", 12, message, f".{_OTEL}.common.v1.KeyValue", repeated=True),
        ],
    )
    metric.oneof_decl.add(name="data")
    proto.message_type.add(
        name="Gauge", field=[_field("data_points", 1, _F.TYPE_BYTES, repeated=True)]
    )
    proto.message_type.add(
        name="Sum",
        field=[
            _field("data_points", 1, _F.TYPE_BYTES, repeated=True),
            _field("aggregation_temporality", 2, _F.TYPE_ENUM, f"{metrics}.AggregationTemporality"),
            _field("is_monotonic", 3, _F.TYPE_BOOL),
        ],
    )
    proto.message_type.add(
        name="Attributes",
        field=[
            _field("attributes", 7, message, f".{_OTEL}.common.v1.KeyValue", repeated=True),
        ],
    )
    pool.Add(proto)
    request = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{_PKG}.ExportMetricsServiceRequest")
    )
    attributes = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PKG}.Attributes"))
    return request, attributes


# --- scanning the points ---------------------------------------------------------------------


@dataclass(slots=True)
class PointScan:
    """What :func:`scan_points` read from each point (``ok`` false: decode it the slow way)."""

    ok: _Bool
    time: _U64
    #: The value's 8 bytes as read; ``kind`` 0: neither field, 1: as_double, 2: as_int.
    raw: _U64
    kind: npt.NDArray[np.int8]
    flags: _U64
    #: The attributes' bytes are ``buffer[attr_start:attr_end]`` (``-1``: no attributes).
    attr_start: _I64
    attr_end: _I64


def words_of(buffer: bytes) -> _U64:
    """The 8 bytes starting at every byte offset of ``buffer``, as little-endian integers."""
    return np.ndarray(shape=(len(buffer) - 7,), dtype="<u8", buffer=buffer, offset=0, strides=(1,))


def scan_points(buffer: bytes, words: _U64, starts: _I64, ends: _I64) -> PointScan:
    """Read the fields of all points ``buffer[starts[i]:ends[i]]`` at once, one field a step.

    Fields are read in the order they come, so a field sent twice keeps its last value (and
    the last of ``as_double``/``as_int`` wins), as protobuf parsing does.
    """
    n = len(starts)
    data = np.frombuffer(buffer, dtype=np.uint8)
    # Every byte offset's byte and the next one: a tag and the first byte after it.
    pairs = np.ndarray(shape=(len(buffer) - 1,), dtype="<u2", buffer=buffer, strides=(1,))
    ok = np.ones(n, dtype=bool)
    # Per field class and point: the last value read, and the step it was read at (0: never).
    values = np.zeros(len(_CLASSES) * n, dtype=np.uint64)
    seen = np.zeros(len(_CLASSES) * n, dtype=np.int32)
    attr_start = np.full(n, -1, dtype=np.int64)
    attr_end = np.full(n, -1, dtype=np.int64)
    cursor = starts.copy()
    live = np.flatnonzero(starts < ends)
    step_number = 0
    while len(live):
        step_number += 1
        at = cursor[live]
        pair = pairs[at]
        step = np.take(_STEPS, pair)
        field = np.take(_CLASS, pair & 0xFF)
        bad = step == 0
        if bad.any():
            # An attribute of 128 bytes or more has a two-byte length: read it (longer ones
            # go the slow way, as do unexpected tags and flags past the 7 defined bits).
            two = bad & (field == _ATTRIBUTE_CLASS) & (data[at + 2] < 0x80)
            if two.any():
                low = (pair[two] >> 8).astype(np.int64) & 0x7F
                step[two] = 3 + (low | (data[at[two] + 2].astype(np.int64) << 7))
                bad &= ~two
        after = at + step
        limit = ends[live]
        bad |= after > limit
        slot = field * n + live
        values[slot] = words[at + 1]
        seen[slot] = step_number
        attribute = field == _ATTRIBUTE_CLASS
        if attribute.any():
            where = live[attribute]
            fresh = attr_start[where] < 0
            attr_start[where[fresh]] = at[attribute][fresh]
            attr_end[where] = after[attribute]
        if bad.any():
            ok[live[bad]] = False
            keep = ~bad
            live, after, limit = live[keep], after[keep], limit[keep]
        cursor[live] = after
        live = live[after < limit]
    values_of = values.reshape(len(_CLASSES), n)
    seen_of = seen.reshape(len(_CLASSES), n)
    as_int = seen_of[_INT_CLASS] > seen_of[_DOUBLE_CLASS]
    kind = np.where(as_int, 2, (seen_of[_DOUBLE_CLASS] > 0).astype(np.int8)).astype(np.int8)
    raw = np.where(as_int, values_of[_INT_CLASS], values_of[_DOUBLE_CLASS])
    flags = values_of[_FLAGS_CLASS] & np.uint64(0x7F)
    return PointScan(ok, values_of[_TIME_CLASS], raw, kind, flags, attr_start, attr_end)


def same_as_previous(words: _U64, start: _I64, length: _I64, group: _I64) -> _Bool:
    """Whether each span ``[start, start + length)`` equals the previous one (same group)."""
    n = len(start)
    same = np.zeros(n, dtype=bool)
    if n < 2:
        return same
    candidates = np.flatnonzero((length[1:] == length[:-1]) & (group[1:] == group[:-1])) + 1
    empty = length[candidates] == 0
    same[candidates[empty]] = True
    candidates = candidates[~empty]
    offset = 0
    while len(candidates):
        left = length[candidates] - offset
        x = words[start[candidates] + offset] ^ words[start[candidates - 1] + offset]
        tail = left < 8
        if tail.any():
            x[tail] &= _LOW_BYTES[left[tail]]
        equal = x == 0
        done = equal & (left <= 8)
        same[candidates[done]] = True
        candidates = candidates[equal & (left > 8)]
        offset += 8
    return same
