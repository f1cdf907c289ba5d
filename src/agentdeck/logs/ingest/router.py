"""Log ingest routes: OTLP/HTTP (``/v1/logs``), the JSON batch and Loki push.

Each authenticates with an API key (or a user token) of role developer or above, counts
against the ``ingest`` rate limit like the metrics ingest routes, undoes the body's
Content-Encoding (identity, gzip, deflate, zstd, snappy; at most ``logs.max_batch_bytes``
decoded, 413 above), decodes its wire format and hands the entries to the tenant's
:class:`~agentdeck.logs.ingest.service.LogIngestor`. Lines are durable when the 2xx is sent.
``docs/logs.md`` documents the three bodies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentdeck.compression import decompress
from agentdeck.errors import UnsupportedMediaType
from agentdeck.identity.principal import Principal
from agentdeck.identity.roles import Role
from agentdeck.logs.ingest.decoders import json_batch, loki, otlp
from agentdeck.logs.ingest.entry import Decoded
from agentdeck.logs.ingest.schemas import (
    EntryErrorPublic,
    LogBatch,
    LogIngestResponse,
)
from agentdeck.logs.ingest.scope import check_agent_scope
from agentdeck.logs.ingest.service import IngestResult
from agentdeck.ratelimit import LimitClass
from agentdeck.server.deps import LogIngestorDep, SettingsDep, requires
from agentdeck.server.errors import FieldError, ProblemError
from agentdeck.server.openapi_docs import BINARY, inline_schema, otlp_export_docs

router = APIRouter(tags=["logs"])

# an agent's telemetry key (minted by the fleet) is taken here, for its own agent's series
Ingester = Annotated[
    Principal, Depends(requires(Role.developer, LimitClass.ingest, agent_keys=True))
]

#: Bodies at least this large are decoded in a worker thread (the event loop stays free).
THREAD_DECODE_BYTES = 1 << 20
_MAX_MESSAGES = 5
_MAX_ERRORS = 1000
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    415: {"description": "Unknown Content-Type or Content-Encoding (problem+json)."},
    503: {"description": "The log store failed; retry later (problem+json)."},
}


async def _body(request: Request, limit: int) -> bytes:
    raw = await request.body()
    return decompress(raw, request.headers.get("content-encoding"), limit=limit)


async def _decode(body: bytes, decoder: Callable[[bytes], Decoded]) -> Decoded:
    if len(body) >= THREAD_DECODE_BYTES:
        return await asyncio.to_thread(decoder, body)
    return decoder(body)


def _base_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def _errors(result: IngestResult) -> list[FieldError]:
    return [
        FieldError(loc=[e.index, e.field], message=e.message, type=e.reason)
        for e in result.errors[:_MAX_ERRORS]
    ]


# --- the JSON batch ----------------------------------------------------------------------------


@router.post(
    "/api/v1/logs/batch",
    operation_id="ingest_log_batch",
    response_model=LogIngestResponse,
    responses=_PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "JSON, optionally gzip-, deflate- or zstd-encoded "
            "(Content-Encoding). See docs/logs.md.",
            "content": {"application/json": {"schema": inline_schema(LogBatch)}},
        }
    },
)
async def ingest_log_batch(
    request: Request, principal: Ingester, settings: SettingsDep, logs: LogIngestorDep
) -> LogIngestResponse:
    """Ingest a batch of log lines into the caller's tenant.

    Valid entries are stored even when others are refused; each refused one is listed with
    its index, the field at fault and why (the first 1,000; ``rejected`` counts them all).
    200 when any entry was stored (or the batch was empty); 400 when none was valid; 413
    above ``logs.max_batch_bytes`` decoded; 415 for a Content-Type other than JSON.
    """
    kind = _base_type(request)
    if kind not in ("", "application/json") and not kind.endswith("+json"):
        raise UnsupportedMediaType(
            f"unsupported Content-Type {kind!r}: send application/json",
            kind="unsupported-media-type",
        )
    body = await _body(request, settings.logs.max_batch_bytes)
    decoded = await _decode(body, json_batch.decode)
    check_agent_scope(principal.agent, decoded)
    result = await logs.ingest(
        tenant_id=principal.tenant_id, decoded=decoded, path="batch", body_bytes=len(body)
    )
    if result.accepted == 0 and result.rejected:
        raise ProblemError(
            400,
            "no-valid-entries",
            f"none of the {result.rejected} entries was valid",
            errors=_errors(result),
            extra={"accepted": 0, "rejected": result.rejected},
        )
    return LogIngestResponse(
        accepted=result.accepted,
        rejected=result.rejected,
        truncated=result.truncated,
        errors=[
            EntryErrorPublic(index=e.index, field=e.field, message=e.message)
            for e in result.errors[:_MAX_ERRORS]
        ],
    )


# --- OTLP/HTTP ---------------------------------------------------------------------------------


class OtlpLogsPartialSuccess(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    rejected_log_records: str = Field(
        "0", alias="rejectedLogRecords", description="Log records refused (int64 as a string)."
    )
    error_message: str = Field("", alias="errorMessage", description="Why, in short.")


class OtlpLogsExportResponse(BaseModel):
    """``ExportLogsServiceResponse`` as OTLP JSON (protobuf requests get protobuf)."""

    model_config = ConfigDict(populate_by_name=True)

    partial_success: OtlpLogsPartialSuccess | None = Field(None, alias="partialSuccess")


def _summary(result: IngestResult, total: int) -> str:
    if not result.rejected:
        return ""
    messages: list[str] = []
    for error in result.errors:
        text = f"record {error.index}: {error.field}: {error.message}"
        messages.append(text)
        if len(messages) == _MAX_MESSAGES:
            break
    return f"{result.rejected} of {total} log records rejected: " + "; ".join(messages)


@router.post(
    "/v1/logs",
    operation_id="export_otlp_logs",
    response_class=Response,
    **otlp_export_docs(
        response_model=OtlpLogsExportResponse,
        request="An OTLP ExportLogsServiceRequest, optionally gzip- or zstd-encoded.",
        problems=_PROBLEMS,
    ),
)
async def export_otlp_logs(
    request: Request, principal: Ingester, settings: SettingsDep, logs: LogIngestorDep
) -> Response:
    """OTLP/HTTP logs export: protobuf (default) or JSON.

    Records land in the caller's tenant. Records that cannot be stored are counted in
    ``partialSuccess`` (200, as the OTLP specification asks); the others are kept. 400 for a
    body that cannot be decoded at all.
    """
    kind = otlp.media_type(request.headers.get("content-type"))
    body = await _body(request, settings.logs.max_batch_bytes)
    decoder = otlp.decode_protobuf if kind == otlp.PROTOBUF else otlp.decode_json
    decoded = await _decode(body, decoder)
    check_agent_scope(principal.agent, decoded)
    result = await logs.ingest(
        tenant_id=principal.tenant_id, decoded=decoded, path="otlp", body_bytes=len(body)
    )
    message = _summary(result, len(decoded.entries))
    return Response(
        otlp.encode_response(result.rejected, message, kind), status_code=200, media_type=kind
    )


# --- Loki push ---------------------------------------------------------------------------------


@router.post(
    "/loki/api/v1/push",
    operation_id="push_loki_logs",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Every line was stored."},
        400: {
            "description": "Some or all lines were refused (the others were stored), or the "
            "body cannot be decoded (problem+json, with errors by line index).",
        },
        **_PROBLEMS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "Loki's push body: JSON, or a snappy-compressed protobuf "
            "PushRequest (Content-Type application/x-protobuf). See docs/logs.md.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-protobuf": BINARY,
            },
        }
    },
)
async def push_loki_logs(
    request: Request, principal: Ingester, settings: SettingsDep, logs: LogIngestorDep
) -> Response:
    """Loki's push API, so Promtail, Grafana Alloy, Vector and Fluent Bit ship logs unchanged.

    204 when every line was stored; 400 naming the refused lines when some were refused (the
    others are kept, and clients do not retry a 4xx); 503 when the store failed (retry).
    """
    kind = _base_type(request)
    limit = settings.logs.max_batch_bytes
    if kind == "application/json" or kind.endswith("+json"):
        body = await _body(request, limit)
        decoded = await _decode(body, loki.decode_json)
    elif kind in ("", "application/x-protobuf", "application/protobuf"):
        raw = await request.body()
        encoding = (request.headers.get("content-encoding") or "").strip().lower()
        # Promtail sends a snappy block without saying so; undo another encoding first.
        if encoding != "snappy":
            raw = decompress(raw, encoding, limit=limit)
        body = decompress(raw, "snappy", limit=limit)
        decoded = await _decode(body, loki.decode_push_request)
    else:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {kind!r}: send application/json or "
            "application/x-protobuf (snappy)",
            kind="unsupported-media-type",
        )
    check_agent_scope(principal.agent, decoded)
    result = await logs.ingest(
        tenant_id=principal.tenant_id, decoded=decoded, path="loki", body_bytes=len(body)
    )
    if result.rejected:
        raise ProblemError(
            400,
            "entries-rejected",
            f"{result.rejected} of {result.accepted + result.rejected} lines rejected (the "
            "others were stored): "
            + "; ".join(f"line {e.index}: {e.message}" for e in result.errors[:_MAX_MESSAGES]),
            errors=_errors(result),
            extra={"accepted": result.accepted, "rejected": result.rejected},
        )
    return Response(status_code=204)
