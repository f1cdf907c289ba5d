"""The wire formats → raw entries: JSON batch, OTLP (protobuf and JSON), Loki (JSON, protobuf)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from google.protobuf import descriptor_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from agentdeck.errors import Malformed
from agentdeck.logs.ingest.decoders import json_batch, loki, otlp
from agentdeck.logs.ingest.entry import DefaultedEntry

PROTO = Path(loki.__file__).with_name("loki_push.proto")


# --- JSON batch --------------------------------------------------------------------------------


def test_json_batch_fast_path() -> None:
    body = orjson.dumps(
        {
            "entries": [
                {"severity": "INFO", "service": "api", "message": "a", "labels": {"k": "v"}},
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "severity": "warn",
                    "service": "api",
                    "message": "b",
                    "trace_id": "ab" * 16,
                    "agent": "bot",
                },
            ]
        }
    )
    decoded = json_batch.decode(body)
    assert decoded.errors == []
    first, second = decoded.entries
    assert first is not None and second is not None
    assert (first.message, first.labels, first.timestamp) == ("a", {"k": "v"}, None)
    assert (second.agent, second.trace_id) == ("bot", "ab" * 16)


def test_json_batch_wrong_types_go_entry_by_entry() -> None:
    body = orjson.dumps(
        {
            "entries": [
                {"severity": "INFO", "service": "api", "message": "ok"},
                "not an object",
                {"severity": "INFO", "service": "api", "message": "x", "labels": ["a"]},
                {"severity": "INFO", "service": "api", "message": 5},
                {"severity": "INFO", "service": "api", "message": "ok", "labels": {"n": 1}},
            ]
        }
    )
    decoded = json_batch.decode(body)
    assert [(e.index, e.field) for e in decoded.errors] == [(1, "entry"), (2, "labels")]
    assert decoded.entries[1] is None and decoded.entries[2] is None
    assert decoded.entries[3] is not None and decoded.entries[3].message == 5
    assert decoded.entries[4] is not None and decoded.entries[4].labels == {"n": 1}


def test_json_batch_invalid_utf8_is_replaced() -> None:
    body = b'{"entries": [{"severity": "INFO", "service": "api", "message": "caf\xe9 \\ud800"}]}'
    (entry,) = json_batch.decode(body).entries
    assert entry is not None and entry.message == "caf\ufffd ?"
    assert isinstance(entry.message, str)
    entry.message.encode()  # valid UTF-8 now


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"entries": 5}', b'{"lines": []}', b"\x00\x01"])
def test_json_batch_malformed(body: bytes) -> None:
    with pytest.raises(Malformed) as caught:
        json_batch.decode(body)
    assert caught.value.kind == "malformed-body"


# --- OTLP --------------------------------------------------------------------------------------


def _kv(key: str, value: object) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, dict):
        for k, v in value.items():
            kv.value.kvlist_value.values.append(_kv(k, v))
    elif isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = str(value)
    return kv


def otlp_request() -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource = request.resource_logs.add()
    resource.resource.attributes.extend(
        [
            _kv("service.name", "checkout"),
            _kv("deployment.environment", "prod"),
            _kv("gen_ai.agent.name", "bot-7"),
        ]
    )
    scope = resource.scope_logs.add()
    scope.scope.name = "app.logger"
    scope.scope.version = "1.2"
    record = scope.log_records.add(
        time_unix_nano=1_700_000_000_000_000_001,
        severity_number=17,
        severity_text="ERROR",
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
    )
    record.body.string_value = "payment failed"
    record.attributes.extend(
        [
            _kv("http.route", "/pay"),
            _kv("retry", 3),
            _kv("ctx", {"user": {"id": "u1"}}),
            _kv("severity", "x"),
        ]
    )
    other = scope.log_records.add(observed_time_unix_nano=5, severity_text="warn")
    other.body.kvlist_value.values.append(_kv("event", "login"))
    scope.log_records.add()  # no time, no severity, no body
    return request


def test_otlp_protobuf() -> None:
    decoded = otlp.decode_protobuf(otlp_request().SerializeToString())
    assert decoded.errors == []
    first, second, third = decoded.entries
    assert isinstance(first, DefaultedEntry)
    assert (first.service, first.agent, first.severity) == ("checkout", "bot-7", 17)
    assert first.timestamp == 1_700_000_000_000_000_001
    assert first.message == "payment failed"
    assert first.labels == {"deployment_environment": "prod"}
    assert first.fields == {
        "scope_name": "app.logger",
        "scope_version": "1.2",
        "http_route": "/pay",
        "retry": "3",
        "ctx_user_id": "u1",
        "severity_attr": "x",
    }
    assert (first.trace_id, first.span_id) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert second is not None and third is not None
    assert (second.severity, second.timestamp) == ("warn", 5)
    assert orjson.loads(str(second.message)) == {"event": "login"}
    assert (third.severity, third.timestamp, third.message, third.trace_id) == (
        None,
        None,
        "",
        None,
    )


def test_otlp_protobuf_invalid_utf8_is_replaced() -> None:
    request = otlp_request()
    request.resource_logs[0].scope_logs[0].log_records[0].body.string_value = "MARK"
    body = request.SerializeToString().replace(b"MARK", b"M\xffRK")
    first = otlp.decode_protobuf(body).entries[0]
    assert first is not None and first.message == "M\ufffdRK"


def test_otlp_protobuf_malformed() -> None:
    with pytest.raises(Malformed):
        otlp.decode_protobuf(b"\xff\xff\xff")


def test_otlp_json_with_hex_ids() -> None:
    document = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1700000000000000000",
                                "severityNumber": 9,
                                "body": {"stringValue": "hi"},
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                            },
                            {
                                "severityText": "ERROR",
                                "body": {"stringValue": "bad id"},
                                "traceId": "nothex",
                            },
                        ]
                    }
                ],
            }
        ]
    }
    decoded = otlp.decode_json(orjson.dumps(document))
    first, second = decoded.entries
    assert first is not None and first.trace_id == "5b8efff798038103d269b633813fc60c"
    assert first.span_id == "eee19b7ec3c1b174" and first.service == "api"
    assert second is None
    assert [(e.index, e.field) for e in decoded.errors] == [(1, "trace_id")]


def test_otlp_media_types() -> None:
    assert otlp.media_type(None) == otlp.PROTOBUF
    assert otlp.media_type("application/json; charset=utf-8") == otlp.JSON
    with pytest.raises(Exception) as caught:
        otlp.media_type("text/plain")
    assert getattr(caught.value, "kind", "") == "unsupported-media-type"


# --- Loki --------------------------------------------------------------------------------------


def test_loki_json() -> None:
    body = orjson.dumps(
        {
            "streams": [
                {
                    "stream": {"job": "api", "level": "error", "env": "prod", "agent": "b1"},
                    "values": [
                        ["1700000000000000000", "boom"],
                        ["1700000000000000001", "with meta", {"trace_id": "ab" * 16, "user": "u"}],
                        ["soon", "bad ts"],
                        ["1700000000000000002"],
                        [{"ns": 1}, "ts is an object"],
                        [True, "ts is a boolean"],
                        [1700000000000000003, "ts as a number"],
                    ],
                },
                {"stream": {"service_name": "web", "job": "nginx"}, "values": [["1", "x"]]},
            ]
        }
    )
    decoded = loki.decode_json(body)
    first, second, third, fourth, bad_object, bad_bool, number, fifth = decoded.entries
    assert third is None and fourth is None and bad_object is None and bad_bool is None
    assert [(e.index, e.field) for e in decoded.errors] == [
        (2, "timestamp"),
        (3, "values"),
        (4, "timestamp"),
        (5, "timestamp"),
    ]
    assert number is not None and number.timestamp == 1_700_000_000_000_000_003
    assert first is not None and second is not None and fifth is not None
    assert (first.service, first.severity, first.agent) == ("api", "error", "b1")
    assert first.labels == {"env": "prod"} and first.timestamp == 1_700_000_000_000_000_000
    assert (second.trace_id, second.fields) == ("ab" * 16, {"user": "u"})
    assert (fifth.service, fifth.labels) == ("web", {"job": "nginx"})


def push_request(streams: list[tuple[str, list[tuple[int, bytes, dict[str, str]]]]]) -> bytes:
    cls = loki.push_request_class()
    request = cls()
    for labels, entries in streams:
        stream = request.streams.add(labels=labels.encode())
        for ts, line, meta in entries:
            item = stream.entries.add(line=line)
            item.timestamp.seconds, item.timestamp.nanos = divmod(ts, 1_000_000_000)
            for name, value in meta.items():
                item.structuredMetadata.add(name=name.encode(), value=value.encode())
    return bytes(request.SerializeToString())


def test_loki_protobuf() -> None:
    raw = push_request(
        [
            (
                '{app="shop", detected_level="warn", path="/a\\"b"}',
                [(1_700_000_000_000_000_123, b"slow \xff", {"span_id": "ab" * 8})],
            ),
            ("not labels", [(1, b"x", {})]),
        ]
    )
    decoded = loki.decode_push_request(raw)
    first, second = decoded.entries
    assert second is None and decoded.errors[0].field == "stream"
    assert first is not None
    assert (first.service, first.severity, first.labels) == ("shop", "warn", {"path": '/a"b'})
    assert first.timestamp == 1_700_000_000_000_000_123
    assert (first.message, first.span_id) == ("slow \ufffd", "ab" * 8)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("{}", {}),
        ('{a="1"}', {"a": "1"}),
        ('{ a = "1" , b="x\\ny"}', {"a": "1", "b": "x\ny"}),
    ],
)
def test_loki_label_text(text: str, labels: dict[str, str]) -> None:
    assert loki.parse_labels(text) == labels


@pytest.mark.parametrize("text", ["", "a=1", '{a="1"', "{a=1}", '{="x"}'])
def test_bad_loki_label_text(text: str) -> None:
    with pytest.raises(loki.BadLabels):
        loki.parse_labels(text)


def test_runtime_messages_match_the_proto_file() -> None:
    """Every message and field of loki_push.proto, with its number and kind, is declared at
    runtime (strings as bytes, the same wire type; the timestamp as a message)."""
    text = re.sub(r"//[^\n]*", "", PROTO.read_text())
    declared: dict[str, dict[str, tuple[int, str, bool]]] = {}
    for name, body in re.findall(r"message (\w+) \{([^}]*)\}", text):
        fields = re.findall(r"(repeated )?([\w.]+) (\w+) = (\d+);", body)
        declared[name] = {f[2]: (int(f[3]), f[1], bool(f[0])) for f in fields}
    file_proto = descriptor_pb2.FileDescriptorProto()
    loki.push_request_class().DESCRIPTOR.file.CopyToProto(file_proto)
    runtime = {m.name: m for m in file_proto.message_type}
    kinds = {"string": {9, 12}, "uint64": {4}}  # string → TYPE_STRING or TYPE_BYTES
    assert set(declared) <= set(runtime)
    for name, fields in declared.items():
        got = {f.name: f for f in runtime[name].field}
        assert set(got) == set(fields), name
        for field_name, (number, kind, repeated) in fields.items():
            spec = got[field_name]
            assert spec.number == number, (name, field_name)
            assert (spec.label == spec.LABEL_REPEATED) == repeated
            if kind in kinds:
                assert spec.type in kinds[kind], (name, field_name)
            else:
                assert spec.type == spec.TYPE_MESSAGE
                assert spec.type_name.rsplit(".", 1)[-1] == kind.rsplit(".", 1)[-1]
