"""OTLP/HTTP logs: an ``ExportLogsServiceRequest`` (protobuf or JSON) → raw entries.

* service: the resource attribute ``service.name`` (``unknown_service`` without one);
* agent: the first of ``gen_ai.agent.name``, ``gen_ai.agent.id``, ``agent.name``, ``agent``
  among the resource, then the log record's attributes;
* severity: ``severity_number`` (1–24) when set, else ``severity_text``; neither → INFO;
* time: ``time_unix_nano``, else ``observed_time_unix_nano``, else now;
* message: the body (a string as is; maps and lists as JSON);
* trace and span ids as lower-case hex;
* the resource's other attributes are the stream labels; scope name, version and attributes
  and the record's attributes (and ``event_name``) are per-line fields. Nested maps are
  flattened with ``.``; names become label names by turning every character outside
  ``[A-Za-z0-9_]`` into ``_`` (``http.route`` → ``http_route``); a name that is a column
  (``service``, ``severity``, ...) gets ``_attr`` appended.

Protobuf bodies are parsed with *shadow* messages: the OTLP messages with every ``string``
field read as ``bytes`` (the same wire format), so invalid UTF-8 in a line is replaced rather
than failing the whole request as the stock messages would.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable
from typing import Any

import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from agentdeck.compression import OTLP_JSON, OTLP_PROTOBUF, load_json, otlp_media_type
from agentdeck.errors import Malformed
from agentdeck.logs.ingest.entry import Decoded, DefaultedEntry, EntryError
from agentdeck.logs.ingest.normalize import RESERVED

PROTOBUF = OTLP_PROTOBUF
JSON = OTLP_JSON
#: The body type a ``Content-Type`` names (415 for any other).
media_type = otlp_media_type
AGENT_KEYS = ("gen_ai.agent.name", "gen_ai.agent.id", "agent.name", "agent")
_NAMES: dict[str, str] = {}
_NAMES_MAX = 10_000


def label_name(key: str) -> str:
    """An attribute key as a label name (see the module docstring)."""
    found = _NAMES.get(key)
    if found is not None:
        return found
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in key)
    if not name or name[0].isdigit():
        name = "_" + name
    if name in RESERVED:
        name += "_attr"
    if len(_NAMES) < _NAMES_MAX:
        _NAMES[key] = name
    return name


# --- shadow messages --------------------------------------------------------------------------


@functools.cache
def _shadow_request() -> Any:
    """``ExportLogsServiceRequest`` with every string field declared ``bytes``."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, logs_pb2, logs_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        _strings_as_bytes(proto.message_type)
        pool.Add(proto)
    descriptor = pool.FindMessageTypeByName(
        "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"
    )
    return message_factory.GetMessageClass(descriptor)


def _strings_as_bytes(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for spec in message.field:
            if spec.type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING:
                spec.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
        _strings_as_bytes(message.nested_type)


# --- values -----------------------------------------------------------------------------------


def _s(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


def _plain(value: Any) -> Any:
    """An ``AnyValue`` as a Python value (for JSON rendering)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return _s(value.string_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {_s(kv.key): _plain(kv.value) for kv in value.kvlist_value.values}
    return None


def _text(value: Any) -> str | None:
    """An ``AnyValue`` as text: strings as they are, numbers and booleans printed, maps and
    lists as JSON; None for an empty value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return _s(value.string_value)
    if kind is None:
        return None
    plain = _plain(value)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    if isinstance(plain, int | float | str):
        return str(plain)
    return orjson.dumps(plain, option=orjson.OPT_NON_STR_KEYS).decode()


def _flatten(attributes: Iterable[Any], into: dict[str, str], prefix: str = "") -> None:
    """``KeyValue`` attributes → ``{"key": "text"}``, nested maps as ``outer.inner``."""
    for kv in attributes:
        key = prefix + _s(kv.key)
        value = kv.value
        if value.WhichOneof("value") == "kvlist_value":
            _flatten(value.kvlist_value.values, into, key + ".")
            continue
        text = _text(value)
        if text is not None:
            into[key] = text


def _pop_agent(*sources: dict[str, str]) -> str | None:
    for key in AGENT_KEYS:
        for source in sources:
            if key in source:
                return source.pop(key)
    return None


def _labels(attributes: dict[str, str]) -> dict[str, str]:
    return {label_name(key): value for key, value in attributes.items()}


# --- decoding ---------------------------------------------------------------------------------


def _malformed(detail: str) -> Malformed:
    return Malformed(detail, kind="malformed-body")


def decode_protobuf(body: bytes) -> Decoded:
    request = _shadow_request()()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise _malformed(f"the body is not a protobuf OTLP logs request: {exc}") from None
    return _translate(request, {})


def decode_json(body: bytes) -> Decoded:
    document = load_json(body)
    if not isinstance(document, dict):
        raise _malformed("the JSON body must be an OTLP ExportLogsServiceRequest object")
    bad_ids = _hex_ids_to_base64(document)
    request = logs_service_pb2.ExportLogsServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise _malformed(f"the JSON body is not an OTLP logs request: {exc}") from None
    return _translate(request, bad_ids)


def _hex_ids_to_base64(document: dict[str, Any]) -> dict[int, str]:
    """OTLP JSON writes trace and span ids as hex, protobuf's JSON mapping reads base64:
    convert them in place. Returns the records whose id is not hex (by index), blanked."""
    bad: dict[int, str] = {}
    index = 0
    for resource in _list(document, "resourceLogs", "resource_logs"):
        for scope in _list(resource, "scopeLogs", "scope_logs"):
            for record in _list(scope, "logRecords", "log_records"):
                if isinstance(record, dict):
                    for keys, size in ((("traceId", "trace_id"), 16), (("spanId", "span_id"), 8)):
                        for key in keys:
                            value = record.get(key)
                            if value in (None, ""):
                                continue
                            try:
                                raw = bytes.fromhex(value) if isinstance(value, str) else b""
                            except ValueError:
                                raw = b""
                            if len(raw) != size:
                                bad[index] = keys[1]
                                record[key] = ""
                            else:
                                record[key] = base64.b64encode(raw).decode()
                index += 1
    return bad


def _list(node: Any, *keys: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    for key in keys:
        value = node.get(key)
        if isinstance(value, list):
            return value
    return []


def _translate(request: Any, bad_ids: dict[int, str]) -> Decoded:
    decoded = Decoded()
    entries, errors = decoded.entries, decoded.errors
    index = 0
    for resource_logs in request.resource_logs:
        resource: dict[str, str] = {}
        _flatten(resource_logs.resource.attributes, resource)
        service = resource.pop("service.name", None) or None
        resource_agent = _pop_agent(resource)
        labels = _labels(resource)
        for scope_logs in resource_logs.scope_logs:
            scope_fields: dict[str, str] = {}
            scope = scope_logs.scope
            _flatten(scope.attributes, scope_fields)
            scope_fields = _labels(scope_fields)
            if scope.name:
                scope_fields["scope_name"] = _s(scope.name)
            if scope.version:
                scope_fields["scope_version"] = _s(scope.version)
            for record in scope_logs.log_records:
                bad = bad_ids.get(index)
                if bad is not None:
                    entries.append(None)
                    size = 32 if bad == "trace_id" else 16
                    errors.append(
                        EntryError(index, bad, f"{bad} must be {size} hex digits", "invalid_id")
                    )
                    index += 1
                    continue
                attributes: dict[str, str] = {}
                _flatten(record.attributes, attributes)
                agent = resource_agent if resource_agent is not None else _pop_agent(attributes)
                fields = dict(scope_fields)
                fields.update(_labels(attributes))
                event_name = getattr(record, "event_name", b"")
                if event_name:
                    fields["event_name"] = _s(event_name)
                number = record.severity_number
                severity: object = (
                    number if 1 <= number <= 24 else (_s(record.severity_text) or None)
                )
                ts = record.time_unix_nano or record.observed_time_unix_nano or None
                trace_id, span_id = record.trace_id, record.span_id
                message = _text(record.body) if record.HasField("body") else None
                entries.append(
                    DefaultedEntry(
                        timestamp=ts,
                        severity=severity,
                        service=service,
                        message=message or "",
                        labels=labels,
                        trace_id=trace_id.hex() if any(trace_id) else None,
                        span_id=span_id.hex() if any(span_id) else None,
                        agent=agent,
                        fields=fields,
                    )
                )
                index += 1
    return decoded


def encode_response(rejected: int, message: str, kind: str) -> bytes:
    """An ``ExportLogsServiceResponse`` in the request's encoding."""
    response = logs_service_pb2.ExportLogsServiceResponse()
    if rejected or message:
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = message
    if kind == JSON:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()
