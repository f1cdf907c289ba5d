"""The error envelope: every error is RFC 9457 problem+json, and the SPA never answers API paths."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.audit.service import record
from agentdeck.errors import Unavailable
from agentdeck.identity.roles import Role
from agentdeck.server.deps import Developer, SessionDep
from tests.conftest import Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
PROBLEM = "application/problem+json"
MAX_BODY = 2048


class NoteIn(BaseModel):
    text: str = Field(max_length=100_000)
    count: int = Field(ge=0)


class NoteOut(BaseModel):
    id: str


def _probe_router() -> APIRouter:
    """Routes that exercise the real dependencies: one writes, one fails after writing."""
    router = APIRouter(prefix="/api/v1")

    @router.post("/test-notes", response_model=NoteOut, status_code=201)
    async def create_test_note(note: NoteIn, principal: Developer, session: SessionDep) -> NoteOut:
        """Writes an audit entry and commits."""
        entry = await record(
            session, actor=principal, action="note.create", resource_type="note", resource_id=1
        )
        await session.commit()
        return NoteOut(id=str(entry.id))

    @router.post("/test-explode", response_model=NoteOut)
    async def explode_test(principal: Developer, session: SessionDep) -> NoteOut:
        """Writes, then fails before committing."""
        await record(
            session, actor=principal, action="note.create", resource_type="note", resource_id=2
        )
        raise RuntimeError("database password is hunter2")

    @router.post("/test-relay", response_model=NoteOut)
    async def relay_test(principal: Developer) -> NoteOut:
        """A 503 whose detail quotes the error it was raised from."""
        try:
            raise ConnectionRefusedError(111, "refused by relay.internal:7000")
        except OSError as exc:
            raise Unavailable(f"the relay failed: {exc}", kind="relay-unavailable") from exc

    return router


def _add_probe(app: FastAPI) -> None:
    app.include_router(_probe_router())
    ui = [r for r in app.router.routes if getattr(r, "name", None) == "ui"]
    for route in ui:  # the UI mount matches every path: keep it last
        app.router.routes.remove(route)
        app.router.routes.append(route)


@pytest.fixture
async def api(app_factory: AppFactory) -> httpx.AsyncClient:
    client = await app_factory(server={"max_body_bytes": MAX_BODY})
    _add_probe(client.app)  # type: ignore[attr-defined]
    return client


async def entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{kind}"
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_the_probe_route_works(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    response = await api.post(
        "/api/v1/test-notes", json={"text": "hi", "count": 1}, headers=dev.headers
    )
    assert response.status_code == 201
    assert await entries(session) == 1


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/agents", "/api/", "/api"])
async def test_unknown_api_route_is_404_problem(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await api.request(method, path)
    body = problem(response, 404, "not-found")
    assert path in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/audit-log", "GET"),
        ("PUT", "/api/v1/audit-log", "GET"),
        ("POST", "/healthz", "GET"),
        ("POST", "/metrics", "GET"),
        ("GET", "/api/v1/test-notes", "POST"),
    ],
)
async def test_wrong_method_on_a_real_route_is_405_problem(
    api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await api.request(method, path)
    body = problem(response, 405, "method-not-allowed")
    assert method in body["detail"]
    assert allow in response.headers["allow"].split(", ")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/alert-rules", "GET, POST"),
        ("PUT", f"/api/v1/alert-rules/{uuid.uuid4()}", "DELETE, GET, PATCH"),
        ("POST", "/healthz", "GET"),
    ],
)
async def test_405_allow_lists_every_method_of_the_path(
    api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await api.request(method, path)
    problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == allow


async def test_malformed_json_is_400(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    for raw in (b'{"text": "hi", "count": ', b"{'text': 'single quotes'}", b"\xff\xfe"):
        response = await api.post(
            "/api/v1/test-notes",
            content=raw,
            headers={**dev.headers, "Content-Type": "application/json"},
        )
        body = problem(response, 400, "malformed-json")
        assert body["errors"][0]["loc"][0] == "body"
    assert await entries(session) == 0


async def test_validation_is_422_with_field_errors(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    response = await api.post(
        "/api/v1/test-notes", json={"count": -1, "extra": True}, headers=dev.headers
    )
    body = problem(response, 422, "validation-error")
    errors = {tuple(e["loc"]): e for e in body["errors"]}
    assert set(errors) == {("body", "text"), ("body", "count")}
    for error in body["errors"]:
        assert set(error) == {"loc", "message", "type"}
        assert error["message"]
    assert errors[("body", "text")]["type"] == "missing"
    assert errors[("body", "count")]["type"] == "greater_than_equal"
    assert await entries(session) == 0


async def test_declared_body_over_the_limit_is_413(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    response = await api.post(
        "/api/v1/test-notes", json={"text": "x" * (MAX_BODY + 10), "count": 1}, headers=dev.headers
    )
    body = problem(response, 413, "payload-too-large")
    assert str(MAX_BODY) in body["detail"]
    assert await entries(session) == 0


async def test_streamed_body_over_the_limit_is_413(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)

    async def chunks() -> Any:
        yield b'{"count": 1, "text": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = await api.post(
        "/api/v1/test-notes",
        content=chunks(),
        headers={**dev.headers, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    problem(response, 413, "payload-too-large")
    assert await entries(session) == 0

    async def small() -> Any:
        yield b'{"count": 1, '
        yield b'"text": "fits"}'

    ok = await api.post(
        "/api/v1/test-notes",
        content=small(),
        headers={**dev.headers, "Content-Type": "application/json"},
    )
    assert ok.status_code == 201
    assert await entries(session) == 1


async def test_exception_in_a_route_is_500_without_internals(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    response = await api.post(
        "/api/v1/test-explode", headers={**dev.headers, "X-Request-ID": "trace-me-1"}
    )
    body = problem(response, 500, "internal-error")
    assert body["request_id"] == "trace-me-1"
    assert "request id" in body["detail"]
    for leak in ("Traceback", "RuntimeError", "hunter2", 'File "', ".py"):
        assert leak not in response.text
    assert await entries(session) == 0  # the failed request's write was rolled back
    # the server keeps serving
    assert (await api.get("/healthz")).status_code == 200


async def test_a_503_raised_from_another_error_shows_no_text_of_it(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    response = await api.post("/api/v1/test-relay", headers=dev.headers)
    body = problem(response, 503, "relay-unavailable")
    assert response.headers["retry-after"] == "1"
    assert "relay.internal" not in response.text and "7000" not in response.text, body
    assert "retry" in body["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
        {"Authorization": "Bearer adk_not_a_real_key"},
        {"X-API-Key": "adk_not_a_real_key"},
        {"X-API-Key": "garbage"},
    ],
)
async def test_missing_or_garbled_credentials_are_401(
    api: httpx.AsyncClient, session: AsyncSession, headers: dict[str, str]
) -> None:
    for method, path in (("GET", "/api/v1/audit-log"), ("POST", "/api/v1/test-notes")):
        response = await api.request(
            method,
            path,
            headers=headers,
            json={"text": "x", "count": 1} if method == "POST" else None,
        )
        problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    assert await entries(session) == 0


async def test_forbidden_is_403_problem(
    api: httpx.AsyncClient, session: AsyncSession, factory: Factory
) -> None:
    viewer = await factory.api_key(Role.viewer)
    response = await api.post(
        "/api/v1/test-notes", json={"text": "x", "count": 1}, headers=viewer.headers
    )
    body = problem(response, 403, "forbidden")
    assert "developer" in body["detail"]
    assert await entries(session) == 0


async def test_rate_limited_is_429_problem(app_factory: AppFactory, factory: Factory) -> None:
    client = await app_factory(rate_limit={"read": "1/minute"})
    admin = await factory.api_key(Role.admin)
    assert (await client.get("/api/v1/audit-log", headers=admin.headers)).status_code == 200
    response = await client.get("/api/v1/audit-log", headers=admin.headers)
    problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) >= 1


# --- the SPA fallback ---------------------------------------------------------------------

RESERVED_404 = [
    "/api/v1/nope",
    "/api/anything",
    "/v1/traces",
    "/v1/metrics/x",
    "/metrics/x",
    "/healthz/x",
    "/readyz/x",
]


@pytest.fixture(params=["built", "not-built"])
async def ui_app(
    request: pytest.FixtureRequest,
    app_factory: AppFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[httpx.AsyncClient, bool]:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    built = request.param == "built"
    if built:
        (static / "index.html").write_text("<!doctype html><div id=root>agentdeck-ui</div>")
        (static / "assets" / "app.js").write_text("console.log('ui')")
    monkeypatch.setattr("agentdeck.app.factory.STATIC_DIR", static)
    return await app_factory(), built


async def test_spa_fallback_never_answers_reserved_paths(
    ui_app: tuple[httpx.AsyncClient, bool],
) -> None:
    client, _ = ui_app
    for path in RESERVED_404:
        for method in ("GET", "POST"):
            response = await client.request(method, path)
            problem(response, 404, "not-found")
            assert "agentdeck-ui" not in response.text


async def test_reserved_paths_serve_their_real_content(
    ui_app: tuple[httpx.AsyncClient, bool],
) -> None:
    client, _ = ui_app
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json()["status"] == "ready"
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "agentdeck_http_requests_total" in metrics.text
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "agentdeck"
    assert (await client.get("/api/v1/info")).status_code == 200


async def test_client_side_routes_get_the_ui(ui_app: tuple[httpx.AsyncClient, bool]) -> None:
    client, built = ui_app
    for path in ("/", "/agents", "/agents/1234/edit", "/settings/api-keys", "/apis", "/v1x"):
        response = await client.get(path)
        assert response.headers["content-type"].startswith("text/html")
        if built:
            assert response.status_code == 200
            assert "agentdeck-ui" in response.text
        else:
            assert response.status_code == 503
            assert "make ui" in response.text
    if built:
        asset = await client.get("/assets/app.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]


@pytest.mark.sqlite_only  # PostgreSQL has row locks
async def test_a_write_refused_by_a_busy_sqlite_is_503_and_stores_nothing(
    database_url: str,
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
    factory: Factory,
) -> None:
    """SQLite has one writer: a write that waited out the busy timeout is told to retry."""
    dev = await factory.user(Role.developer)
    api = await app_factory(database={"url": database_url, "sqlite_busy_timeout_ms": 50})
    agent = {"name": "busy-one", "type": "llm"}
    other_writer = sqlite3.connect(database_url.split("///", 1)[1])
    try:
        other_writer.execute("BEGIN IMMEDIATE")
        refused = await api.post("/api/v1/agents", json=agent, headers=dev.headers)
    finally:
        other_writer.rollback()
        other_writer.close()
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["type"].endswith("/database-busy")
    listed = await api.get("/api/v1/agents", headers=dev.headers)
    assert listed.json()["items"] == []

    retried = await api.post("/api/v1/agents", json=agent, headers=dev.headers)
    assert retried.status_code == 201, retried.text
    listed = await api.get("/api/v1/agents", headers=dev.headers)
    assert [a["name"] for a in listed.json()["items"]] == ["busy-one"]
