"""Schemathesis hooks for tests/server/test_fuzz_openapi.py (loaded by the `st` process)."""

from __future__ import annotations

import json

import schemathesis
from schemathesis import Case, CheckContext, Response, SerializationContext

PROBLEM = "application/problem+json"
#: The Prometheus-compatible query API answers its own error shape (what Grafana and other
#: Prometheus clients read): ``{"status": "error", "errorType": ..., "error": ...}``.
PROMETHEUS_TAG = "query"


def _prometheus_error(body: object) -> bool:
    return (
        isinstance(body, dict)
        and body.get("status") == "error"
        and isinstance(body.get("errorType"), str)
        and isinstance(body.get("error"), str)
    )


@schemathesis.serializer("application/x-protobuf")
def protobuf_bytes(ctx: SerializationContext, value: object) -> bytes:
    """Bodies for the protobuf routes (remote write, OTLP): whatever was generated, as bytes;
    none is a valid message, so each must come back as a 4xx problem."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


@schemathesis.check
def problem_json_errors(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx/5xx answer is an RFC 9457 problem (type, title, status equal to the answer's)."""
    if response.status_code < 400:
        return None
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if PROMETHEUS_TAG in (case.operation.tags or []) and media_type == "application/json":
        assert _prometheus_error(body), f"not a Prometheus API error: {response.content[:300]!r}"
        return None
    assert media_type == PROBLEM, f"{response.status_code} answered as {media_type!r}"
    assert isinstance(body, dict), (
        f"a problem document is a JSON object: {response.content[:300]!r}"
    )
    assert isinstance(body.get("type"), str) and body["type"], "the problem has no type"
    assert isinstance(body.get("title"), str) and body["title"], "the problem has no title"
    assert body.get("status") == response.status_code, "the problem's status is not the answer's"
    return None
