"""Prometheus remote write 1.0: decode a ``WriteRequest`` (snappy undone by
:func:`agentdeck.compression.decompress`) into samples.

The protobuf messages are declared here at runtime with ``google.protobuf`` descriptors (the
wire format is small and stable), so decoding runs in the protobuf library's C code:

* ``WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }``
* ``TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; ... histograms = 4; }``
* ``Label { string name = 1; string value = 2; }``
* ``Sample { double value = 1; int64 timestamp = 2; }``
* ``MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4;
  string unit = 5; }``

Staleness markers (Prometheus's special NaN) and other NaN values are not samples that can be
stored; they are counted and skipped. Native histograms (``histograms = 4``) are counted and
skipped too (classic histograms arrive as ordinary ``_bucket`` series).
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from agentdeck.compression import malformed_body
from agentdeck.ingest.batch import Batch, MetricMeta, Row
from agentdeck.ingest.models import MetricType
from agentdeck.protodesc import field_spec as _field
from agentdeck.tsdb.names import METRIC_NAME_LABEL

#: Prometheus's staleness marker: a NaN with this bit pattern.
STALE_NAN_BITS = 0x7FF0000000000002

#: MetricMetadata.MetricType → the metadata type we store (others: unknown).
METRIC_TYPES = {
    1: MetricType.counter,
    2: MetricType.gauge,
    3: MetricType.histogram,
    5: MetricType.summary,
}

REMOTE_WRITE_V2 = "io.prometheus.write.v2.Request"


_F = descriptor_pb2.FieldDescriptorProto


@functools.cache
def _write_request_class() -> Any:
    pkg = "agentdeck.remote_write.v1"
    proto = descriptor_pb2.FileDescriptorProto(
        name="agentdeck/remote_write_v1.proto", package=pkg, syntax="proto3"
    )
    proto.message_type.add(
        name="WriteRequest",
        field=[
            _field("timeseries", 1, _F.TYPE_MESSAGE, repeated=True, type_name=f".{pkg}.TimeSeries"),
            _field(
                "metadata", 3, _F.TYPE_MESSAGE, repeated=True, type_name=f".{pkg}.MetricMetadata"
            ),
        ],
    )
    proto.message_type.add(
        name="TimeSeries",
        field=[
            _field("labels", 1, _F.TYPE_MESSAGE, repeated=True, type_name=f".{pkg}.Label"),
            _field("samples", 2, _F.TYPE_MESSAGE, repeated=True, type_name=f".{pkg}.Sample"),
            _field("histograms", 4, _F.TYPE_BYTES, repeated=True),
        ],
    )
    proto.message_type.add(
        name="Label",
        field=[_field("name", 1, _F.TYPE_STRING), _field("value", 2, _F.TYPE_STRING)],
    )
    proto.message_type.add(
        name="Sample",
        field=[_field("value", 1, _F.TYPE_DOUBLE), _field("timestamp", 2, _F.TYPE_INT64)],
    )
    proto.message_type.add(
        name="MetricMetadata",
        field=[
            _field("type", 1, _F.TYPE_INT32),
            _field("metric_family_name", 2, _F.TYPE_STRING),
            _field("help", 4, _F.TYPE_STRING),
            _field("unit", 5, _F.TYPE_STRING),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{pkg}.WriteRequest"))


def new_write_request() -> Any:
    """An empty ``WriteRequest`` message (tests and benchmarks build bodies with it)."""
    return _write_request_class()()


@dataclass(slots=True)
class DecodedWrite(Batch):
    """The request as a batch of rows (``index`` = position among the request's samples; a
    series without ``__name__`` has its samples refused), and what was skipped."""

    stale_markers: int = 0
    nan_samples: int = 0
    native_histograms: int = 0

    @property
    def rows(self) -> list[Row]:
        rows = self.samples
        assert isinstance(rows, list)
        return rows


def _is_stale(value: float) -> bool:
    bits: int = struct.unpack("<Q", struct.pack("<d", value))[0]
    return bits == STALE_NAN_BITS


def decode(body: bytes) -> DecodedWrite:
    """Rows and metadata from a decompressed ``WriteRequest``."""
    request = _write_request_class()()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise malformed_body(f"the body is not a remote-write WriteRequest: {exc}") from None
    rows: list[Row] = []
    out = DecodedWrite(rows)
    index = 0
    add = rows.append
    isnan = math.isnan
    for series in request.timeseries:
        labels = {label.name: label.value for label in series.labels}
        name = labels.pop(METRIC_NAME_LABEL, "")
        out.native_histograms += len(series.histograms)
        if not name:
            for _ in series.samples:
                out.refuse(index, "missing_name", "name", "the series has no __name__ label")
                index += 1
            continue
        for sample in series.samples:
            value = sample.value
            if isnan(value):
                if _is_stale(value):
                    out.stale_markers += 1
                else:
                    out.nan_samples += 1
            else:
                add((name, labels, value, sample.timestamp, index))
            index += 1
    for meta in request.metadata:
        if meta.metric_family_name:
            out.metadata.append(
                MetricMeta(
                    name=meta.metric_family_name,
                    type=METRIC_TYPES.get(meta.type, MetricType.unknown),
                    unit=meta.unit,
                    help=meta.help,
                )
            )
    return out


def encode(request: Any) -> bytes:
    """Serialize and snappy-compress a ``WriteRequest`` (tests and benchmarks)."""
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
