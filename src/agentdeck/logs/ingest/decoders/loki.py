"""Loki push: ``POST /loki/api/v1/push`` bodies (JSON, or snappy-compressed protobuf) → entries.

JSON: ``{"streams": [{"stream": {labels}, "values": [["<unix ns>", "line", {metadata}?]]}]}``.
Protobuf: ``PushRequest`` of ``loki_push.proto`` (beside this module), declared here at runtime
with ``google.protobuf`` descriptors, its string fields as ``bytes`` (the same wire format) so
invalid UTF-8 is replaced rather than refused.

Stream labels map to the line's fields: the service is the first of ``service_name``,
``service``, ``job``, ``app`` (``unknown_service`` without any), the severity the first of
``level``, ``severity``, ``detected_level`` (INFO without any), the agent ``agent``; the label
used is not kept as a label. The other stream labels stay labels; structured metadata become
per-line fields (``trace_id`` and ``span_id`` among them fill the line's ids).
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from agentdeck.compression import load_json
from agentdeck.errors import Malformed
from agentdeck.logs.ingest.decoders.otlp import label_name
from agentdeck.logs.ingest.entry import Decoded, DefaultedEntry, EntryError
from agentdeck.protodesc import field_spec as _field

SERVICE_LABELS = ("service_name", "service", "job", "app")
SEVERITY_LABELS = ("level", "severity", "detected_level")
AGENT_LABEL = "agent"
_ID_FIELDS = ("trace_id", "span_id")

_F = descriptor_pb2.FieldDescriptorProto
_PKG = "logproto"


@functools.cache
def push_request_class() -> Any:
    """``logproto.PushRequest`` (strings declared as bytes; see the module docstring)."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="agentdeck/loki_push.proto", package=_PKG, syntax="proto3"
    )
    message = _F.TYPE_MESSAGE
    proto.message_type.add(
        name="PushRequest",
        field=[_field("streams", 1, message, f".{_PKG}.StreamAdapter", repeated=True)],
    )
    proto.message_type.add(name="PushResponse")
    proto.message_type.add(
        name="StreamAdapter",
        field=[
            _field("labels", 1, _F.TYPE_BYTES),
            _field("entries", 2, message, f".{_PKG}.EntryAdapter", repeated=True),
            _field("hash", 3, _F.TYPE_UINT64),
        ],
    )
    proto.message_type.add(
        name="LabelPairAdapter",
        field=[_field("name", 1, _F.TYPE_BYTES), _field("value", 2, _F.TYPE_BYTES)],
    )
    proto.message_type.add(
        name="EntryAdapter",
        field=[
            _field("timestamp", 1, message, f".{_PKG}.Timestamp"),
            _field("line", 2, _F.TYPE_BYTES),
            _field("structuredMetadata", 3, message, f".{_PKG}.LabelPairAdapter", repeated=True),
        ],
    )
    # google.protobuf.Timestamp, the same wire format
    proto.message_type.add(
        name="Timestamp",
        field=[_field("seconds", 1, _F.TYPE_INT64), _field("nanos", 2, _F.TYPE_INT32)],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PKG}.PushRequest"))


def _malformed(detail: str) -> Malformed:
    return Malformed(detail, kind="malformed-body")


# --- label sets ---------------------------------------------------------------------------------


class BadLabels(ValueError):
    """A stream's label text is not ``{name="value", ...}``."""


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "r": "\r"}


def parse_labels(text: str) -> dict[str, str]:
    """``{job="api", level="info"}`` → ``{"job": "api", "level": "info"}``."""
    s = text.strip()
    if not (s.startswith("{") and s.endswith("}")):
        raise BadLabels(f'labels {text[:80]!r} must be {{name="value", ...}}')
    labels: dict[str, str] = {}
    i, end = 1, len(s) - 1
    while True:
        while i < end and s[i] in " \t\n,":
            i += 1
        if i >= end:
            return labels
        start = i
        while i < end and (s[i].isalnum() or s[i] in "_.:"):
            i += 1
        name = s[start:i]
        while i < end and s[i] == " ":
            i += 1
        if not name or i >= end or s[i] != "=":
            raise BadLabels(f'labels {text[:80]!r}: expected name="value" at {i}')
        i += 1
        while i < end and s[i] == " ":
            i += 1
        if i >= end or s[i] != '"':
            raise BadLabels(f"labels {text[:80]!r}: expected a quoted value at {i}")
        i += 1
        value: list[str] = []
        while True:
            if i >= end:
                raise BadLabels(f"labels {text[:80]!r}: unterminated value")
            c = s[i]
            if c == "\\" and i + 1 < end:
                value.append(_ESCAPES.get(s[i + 1], s[i + 1]))
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                value.append(c)
                i += 1
        labels[name] = "".join(value)


class _Stream:
    """A stream's labels split into the line fields they name and the labels kept."""

    __slots__ = ("agent", "labels", "service", "severity")

    def __init__(self, labels: dict[str, str]) -> None:
        labels = dict(labels)
        self.service = _pop_first(labels, SERVICE_LABELS)
        self.severity = _pop_first(labels, SEVERITY_LABELS)
        self.agent = labels.pop(AGENT_LABEL, None)
        self.labels = {label_name(k): v for k, v in labels.items()}


def _pop_first(labels: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in labels:
            return labels.pop(name)
    return None


def _entry(
    stream: _Stream, ts: object, line: str, metadata: dict[str, str] | None
) -> DefaultedEntry:
    trace_id = span_id = None
    fields: dict[str, str] | None = None
    if metadata:
        fields = {}
        for key, value in metadata.items():
            name = label_name(key) if key not in _ID_FIELDS else key
            if name == "trace_id":
                trace_id = value
            elif name == "span_id":
                span_id = value
            else:
                fields[name] = value
    return DefaultedEntry(
        timestamp=ts,
        severity=stream.severity,
        service=stream.service,
        message=line,
        labels=stream.labels,
        trace_id=trace_id,
        span_id=span_id,
        agent=stream.agent,
        fields=fields,
    )


# --- JSON ---------------------------------------------------------------------------------------


def decode_json(body: bytes) -> Decoded:
    document = load_json(body)
    streams = document.get("streams") if isinstance(document, dict) else None
    if not isinstance(streams, list):
        raise _malformed('the body must be {"streams": [{"stream": {...}, "values": [...]}]}')
    decoded = Decoded()
    entries, errors = decoded.entries, decoded.errors
    for raw in streams:
        values = raw.get("values") if isinstance(raw, dict) else None
        if not isinstance(values, list):
            raise _malformed('each stream must have "values": [["<unix ns>", "line"], ...]')
        labels = raw.get("stream") or {}
        problem = None
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            problem = "the stream's labels must be an object of strings"
        stream = _Stream(labels) if problem is None else None
        for value in values:
            index = len(entries)
            if stream is None:
                entries.append(None)
                errors.append(EntryError(index, "stream", problem or "", "invalid_label"))
                continue
            if (
                not isinstance(value, list)
                or len(value) not in (2, 3)
                or not isinstance(value[1], str)
            ):
                entries.append(None)
                errors.append(
                    EntryError(
                        index,
                        "values",
                        'a value must be ["<unix ns>", "line"] or ["<unix ns>", "line", {...}]',
                        "invalid",
                    )
                )
                continue
            ts = value[0]
            if not (isinstance(ts, str) and ts.isdigit()) and (
                not isinstance(ts, int) or isinstance(ts, bool)
            ):
                entries.append(None)
                errors.append(
                    EntryError(index, "timestamp", "the timestamp must be Unix ns", "invalid")
                )
                continue
            metadata = value[2] if len(value) == 3 else None
            if metadata is not None and not (
                isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
            ):
                entries.append(None)
                errors.append(
                    EntryError(
                        index,
                        "structured_metadata",
                        "metadata must be an object of strings",
                        "invalid",
                    )
                )
                continue
            entries.append(_entry(stream, int(ts), value[1], metadata))
    return decoded


# --- protobuf -----------------------------------------------------------------------------------


def decode_push_request(raw: bytes) -> Decoded:
    """A ``PushRequest`` (its snappy compression undone by the caller)."""
    request = push_request_class()()
    try:
        request.ParseFromString(raw)
    except (DecodeError, ValueError) as exc:
        raise _malformed(f"the body is not a Loki PushRequest: {exc}") from None
    decoded = Decoded()
    entries, errors = decoded.entries, decoded.errors
    for adapter in request.streams:
        text = adapter.labels.decode("utf-8", errors="replace")
        try:
            stream: _Stream | None = _Stream(parse_labels(text))
            problem = ""
        except BadLabels as exc:
            stream, problem = None, str(exc)
        for item in adapter.entries:
            if stream is None:
                errors.append(EntryError(len(entries), "stream", problem, "invalid_label"))
                entries.append(None)
                continue
            metadata = None
            if item.structuredMetadata:
                metadata = {
                    pair.name.decode("utf-8", errors="replace"): pair.value.decode(
                        "utf-8", errors="replace"
                    )
                    for pair in item.structuredMetadata
                }
            stamp = item.timestamp
            ts = stamp.seconds * 1_000_000_000 + stamp.nanos if item.HasField("timestamp") else None
            line = item.line.decode("utf-8", errors="replace")
            entries.append(_entry(stream, ts, line, metadata))
    return decoded
