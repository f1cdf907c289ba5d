"""POST /v1/logs: the real OpenTelemetry SDK log exporter against a running server, plus
hand-built protobuf and JSON bodies for partial success and bad input."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable

import httpx
import orjson
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.logstore.logql import parse
from agentdeck.settings import Settings
from tests.conftest import Factory
from tests.ingest.otlp_support import live_server
from tests.logs.conftest import NS, Deck, now_ns
from tests.logs.test_decoders import otlp_request


class _Recorder(OTLPLogExporter):
    results: list[LogRecordExportResult]

    def export(self, batch, **kwargs):  # type: ignore[no-untyped-def]
        result = super().export(batch, **kwargs)
        self.results.append(result)
        return result


async def test_sdk_log_exporter_end_to_end(
    settings_factory: Callable[..., Settings], factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    app = create_app(settings_factory(loops={"enabled": False}), run_migrations=False)
    async with live_server(app) as url:
        exporter = _Recorder(
            endpoint=f"{url}/v1/logs",
            headers={"X-API-Key": key.api_key or ""},
            compression=Compression.Gzip,
        )
        exporter.results = []
        resource = Resource.create(
            {
                "service.name": "support-bot",
                "deployment.environment": "test",
                "gen_ai.agent.name": "helper-1",
            }
        )
        provider = LoggerProvider(resource=resource)
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        logger = provider.get_logger("agent.core", "0.3")
        tracer = TracerProvider().get_tracer("agent")
        with tracer.start_as_current_span("answer") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            await asyncio.to_thread(
                logger.emit,
                LogRecord(
                    severity_number=SeverityNumber.WARN,
                    severity_text="WARN",
                    body="tool call slow",
                    attributes={"tool.name": "search", "latency_ms": 812},
                ),
            )
        await asyncio.to_thread(
            logger.emit,
            LogRecord(severity_number=SeverityNumber.ERROR, body={"event": "refusal", "n": 2}),
        )
        await asyncio.to_thread(provider.shutdown)
        assert exporter.results == [LogRecordExportResult.SUCCESS] * 2

        store = app.state.deck.log_store
        page = await store.search(
            key.tenant_id,
            parse(""),
            start_ns=now_ns() - 60 * NS,
            end_ns=now_ns() + NS,
            limit=10,
            direction="forward",
        )
    slow, refusal = page.records
    assert (slow.service, slow.agent, slow.severity) == ("support-bot", "helper-1", "WARNING")
    assert slow.message == "tool call slow" and slow.trace_id == trace_id
    assert len(slow.span_id) == 16
    assert slow.labels["tool_name"] == "search" and slow.labels["latency_ms"] == "812"
    assert slow.labels["deployment_environment"] == "test"
    assert slow.labels["scope_name"] == "agent.core" and slow.labels["telemetry_sdk_language"]
    assert refusal.severity == "ERROR"
    assert orjson.loads(refusal.message) == {"event": "refusal", "n": 2}


async def test_partial_success_counts_refused_records(deck: Deck) -> None:
    request = otlp_request()
    records = request.resource_logs[0].scope_logs[0].log_records
    records[0].time_unix_nano = now_ns() - NS
    records[1].observed_time_unix_nano = 0
    records[1].time_unix_nano = now_ns() + 10 * 365 * 86_400 * NS  # refused
    records[2].severity_text = "chatty"  # refused
    response = await deck.api.post(
        "/v1/logs",
        content=gzip.compress(request.SerializeToString()),
        headers={
            **deck.ingest.headers,
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportLogsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_log_records == 2
    assert "record 1: timestamp" in answer.partial_success.error_message
    assert "record 2: severity" in answer.partial_success.error_message
    assert await deck.messages() == ["payment failed"]


async def test_json_requests_get_json_answers(deck: Deck) -> None:
    document = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(now_ns()),
                                "severityText": "Information",
                                "body": {"stringValue": "from json"},
                                "traceId": "0" * 31 + "1",
                            },
                            {"body": {"stringValue": "bad id"}, "spanId": "xyz"},
                        ]
                    }
                ],
            }
        ]
    }
    response = await deck.api.post("/v1/logs", json=document, headers=deck.ingest.headers)
    assert response.status_code == 200
    assert response.json() == {
        "partialSuccess": {
            "rejectedLogRecords": "1",
            "errorMessage": "1 of 2 log records rejected: record 1: span_id: span_id must be "
            "16 hex digits",
        }
    }
    (line,) = await deck.search()
    assert (line["service"], line["severity"], line["trace_id"]) == (
        "json-svc",
        "INFO",
        "0" * 31 + "1",
    )


async def test_everything_accepted_is_an_empty_answer(deck: Deck) -> None:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.body.string_value = "ok"
    response = await deck.api.post(
        "/v1/logs",
        content=request.SerializeToString(),
        headers={**deck.ingest.headers, "Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    assert response.content == b""
    (line,) = await deck.search()
    assert line["service"] == "unknown_service"


async def test_bad_otlp_bodies(deck: Deck) -> None:
    headers = {**deck.ingest.headers, "Content-Type": "application/x-protobuf"}
    cases: list[tuple[dict[str, str], bytes, int, str]] = [
        (headers, b"\xff\xff\xff\xff", 400, "malformed-body"),
        ({**headers, "Content-Type": "application/json"}, b"{nope", 400, "malformed-body"),
        ({**headers, "Content-Type": "text/plain"}, b"hello", 415, "unsupported-media-type"),
        ({**headers, "Content-Encoding": "gzip"}, b"plain", 400, "malformed-body"),
    ]
    for case_headers, body, status, kind in cases:
        response = await deck.api.post("/v1/logs", content=body, headers=case_headers)
        assert response.status_code == status, (case_headers, response.text)
        assert response.json()["type"] == f"/problems/{kind}"


async def test_viewers_cannot_export(deck: Deck) -> None:
    response = await deck.api.post(
        "/v1/logs",
        content=b"",
        headers={**deck.viewer.headers, "Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 403
    assert isinstance(deck.api, httpx.AsyncClient)
