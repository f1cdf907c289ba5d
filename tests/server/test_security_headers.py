"""Security headers on every answer: JSON, problems (the middleware's own 413 and 500 too),
HTML pages, /metrics; the API reference page loads nothing from another origin."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from fastapi import APIRouter

from agentdeck.identity.roles import Role
from tests.conftest import Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


def policy(response: httpx.Response) -> dict[str, list[str]]:
    """The Content-Security-Policy as directive → sources."""
    directives: dict[str, list[str]] = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secured(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers  # plain HTTP


def assert_not_a_page(response: httpx.Response) -> None:
    """A JSON or text answer: nothing may load or run in it, and it is never framed."""
    assert_secured(response)
    directives = policy(response)
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def assert_page(response: httpx.Response) -> dict[str, list[str]]:
    """An HTML page: this origin only, no inline script, never framed."""
    assert_secured(response)
    assert response.headers["content-type"].startswith("text/html")
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    for sources in directives.values():
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
        assert "*" not in sources and not any(s.startswith("http") for s in sources)
    return directives


async def test_api_json_answers(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.api_key(Role.admin)
    response = await client.get("/api/v1/agents", headers=admin.headers)
    assert response.status_code == 200
    assert_not_a_page(response)


async def test_problem_answers(app_factory: AppFactory, factory: Factory) -> None:
    client = await app_factory(server={"max_body_bytes": 2048})
    router = APIRouter()

    @router.get("/api/v1/test-crash")
    async def crash_test() -> None:
        raise RuntimeError("boom")

    client.app.include_router(router)  # type: ignore[attr-defined]
    developer = await factory.api_key(Role.developer)
    answers = {
        401: await client.get("/api/v1/agents"),
        404: await client.get("/api/v1/nope"),
        413: await client.post("/api/v1/agents", content=b"x" * 4096, headers=developer.headers),
        422: await client.post("/api/v1/agents", json={"name": 1}, headers=developer.headers),
        500: await client.get("/api/v1/test-crash"),
    }
    for status, response in answers.items():
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert_not_a_page(response)


async def test_metrics(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert_not_a_page(response)


async def test_the_ui_page_cannot_be_framed(client: httpx.AsyncClient) -> None:
    # the SPA's index.html when the UI is built, the "not built" page otherwise: HTML either way
    response = await client.get("/agents")
    directives = assert_page(response)
    assert directives["script-src"] == ["'self'"]
    assert response.headers["cross-origin-opener-policy"] == "same-origin"


async def test_api_docs_load_only_from_this_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    directives = assert_page(response)
    page = response.text
    assert "http:" not in page and "https:" not in page and "//" not in page.replace("://", "")
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sorted(references) == [
        "/swagger/favicon-32x32.png",
        "/swagger/swagger-ui-bundle.js",
        "/swagger/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in page
    # its one inline script is allowed by its hash, and nothing else inline is
    inline = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert directives["script-src"] == ["'self'", f"'sha256-{digest}'"]


async def test_redoc_and_the_oauth2_redirect_page_are_not_served(
    client: httpx.AsyncClient,
) -> None:
    """FastAPI's other pages load their scripts from a CDN: they are off (/redoc is left to
    the UI's client-side routes, /docs/... is reserved for the API)."""
    redoc = await client.get("/redoc")
    assert "redoc" not in redoc.text.lower()
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 404
    assert redirect.headers["content-type"] == "application/problem+json"


async def test_hsts_only_over_https_and_when_configured(app_factory: AppFactory) -> None:
    configured = await app_factory(server={"hsts_seconds": 31536000})
    default = await app_factory()
    for client, over_https in ((configured, "max-age=31536000"), (default, None)):
        transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
            secure = await tls.get("/healthz")
        assert secure.headers.get("strict-transport-security") == over_https
        plain = await client.get("/healthz")
        assert "strict-transport-security" not in plain.headers
