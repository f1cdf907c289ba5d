"""Remote write 1.0 decoding, without HTTP or a store."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import cramjam
import pytest

from agentdeck.compression import decompress
from agentdeck.errors import Malformed, TooLarge
from agentdeck.ingest.decoders import remote_write

STALE = struct.unpack("<d", struct.pack("<Q", remote_write.STALE_NAN_BITS))[0]


def write_request(
    series: Sequence[tuple[Mapping[str, str], Sequence[tuple[float, int]]]],
    metadata: Sequence[tuple[int, str, str, str]] = (),
) -> Any:
    req = remote_write.new_write_request()
    for labels, samples in series:
        ts = req.timeseries.add()
        for name, value in labels.items():
            ts.labels.add(name=name, value=value)
        for value, t in samples:
            ts.samples.add(value=value, timestamp=t)
    for kind, name, help_text, unit in metadata:
        req.metadata.add(type=kind, metric_family_name=name, help=help_text, unit=unit)
    return req


def test_decode_samples_labels_and_metadata() -> None:
    req = write_request(
        [
            ({"__name__": "up", "job": "node", "instance": "a:9100"}, [(1.0, 1000), (0.0, 2000)]),
            ({"__name__": "http_requests_total", "code": "200"}, [(5.5, 1500)]),
        ],
        metadata=[(1, "http_requests_total", "Requests.", ""), (2, "up", "Up.", "")],
    )
    body = decompress(remote_write.encode(req), "snappy", limit=1 << 20)
    out = remote_write.decode(body)
    assert list(out.rows) == [
        ("up", {"job": "node", "instance": "a:9100"}, 1.0, 1000, 0),
        ("up", {"job": "node", "instance": "a:9100"}, 0.0, 2000, 1),
        ("http_requests_total", {"code": "200"}, 5.5, 1500, 2),
    ]
    assert [(m.name, m.type, m.help) for m in out.metadata] == [
        ("http_requests_total", "counter", "Requests."),
        ("up", "gauge", "Up."),
    ]


def test_stale_markers_and_nan_are_counted_not_returned() -> None:
    req = write_request([({"__name__": "g"}, [(STALE, 1000), (math.nan, 2000), (3.0, 3000)])])
    out = remote_write.decode(req.SerializeToString())
    assert [(row[2], row[3]) for row in out.rows] == [(3.0, 3000)]
    assert (out.stale_markers, out.nan_samples) == (1, 1)


def test_series_without_name_are_counted() -> None:
    req = write_request([({"job": "x"}, [(1.0, 1000), (2.0, 2000)])])
    out = remote_write.decode(req.SerializeToString())
    assert out.rows == []
    assert [(e.index, e.field) for e in out.errors] == [(0, "name"), (1, "name")]


def test_malformed_and_oversized_bodies() -> None:
    with pytest.raises(Malformed) as not_snappy:
        decompress(b"\xff\xff\xff\xff\xff", "snappy", limit=1 << 20)
    with pytest.raises(Malformed) as not_protobuf:
        remote_write.decode(b"\x0a\xff\x01")
    assert not_snappy.value.kind == not_protobuf.value.kind == "malformed-body"
    big = bytes(cramjam.snappy.compress_raw(b"\0" * 5000))
    with pytest.raises(TooLarge):
        decompress(big, "snappy", limit=1000)
