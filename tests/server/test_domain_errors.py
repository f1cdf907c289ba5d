"""Domain errors raised by services answer as problem documents with the status of their kind."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from agentdeck import errors
from agentdeck.server.errors import PROBLEM_MEDIA_TYPE, install_error_handlers

CASES = [
    (errors.Malformed("unreadable"), 400, "bad-request"),
    (errors.Unauthenticated("who are you"), 401, "unauthorized"),
    (errors.Forbidden("not yours"), 403, "forbidden"),
    (errors.not_found("agent", "a1"), 404, "not-found"),
    (errors.conflict("name taken", field="name"), 409, "conflict"),
    (errors.PreconditionFailed("stale"), 412, "precondition-failed"),
    (errors.TooLarge("too big"), 413, "payload-too-large"),
    (errors.UnsupportedMediaType("xml"), 415, "unsupported-media-type"),
    (errors.invalid("out-of-range", ["body", "replicas"], "at most 20"), 422, "out-of-range"),
    (errors.QuotaExceeded("slow down", retry_after=2.4), 429, "rate-limited"),
    (errors.Unavailable("store down", kind="store-unavailable"), 503, "store-unavailable"),
]


@pytest.mark.parametrize(("error", "status", "kind"), CASES)
async def test_domain_error_answers_with_its_status_and_kind(
    error: errors.DomainError, status: int, kind: str
) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == f"/problems/{kind}"
    assert body["status"] == status
    assert body["detail"] == error.detail
    if error.errors:
        assert body["errors"] == [
            {"loc": list(e.loc), "message": e.message, "type": e.type} for e in error.errors
        ]
    if error.retry_after is not None:
        assert response.headers["retry-after"] == "2"
