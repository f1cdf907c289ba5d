"""Scrape targets through the outbound policy: refused by default on loopback, allowed when
configured, redirects re-checked, create-time 422 for metadata and link-local literals, and
what viewers and admins read of a failure."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from agentdeck.identity.roles import Role
from agentdeck.scrape.loop import ScrapeLoop, ScrapeOutcome, TargetSpec, scrape_target
from agentdeck.scrape.models import ScrapeTarget
from agentdeck.server.state import AppState
from tests.conftest import Caller, Factory
from tests.outbound.support import LEAK, Seen, answering_server
from tests.scrape.scrape_support import closed_port_url

TARGETS = "/api/v1/scrape-targets"
AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
def server() -> Iterator[Seen]:
    with answering_server() as seen:
        yield seen


async def _app(app_factory: AppFactory, outbound: dict[str, Any]) -> httpx.AsyncClient:
    return await app_factory(loops={"enabled": False}, outbound=outbound)


async def _target(api: httpx.AsyncClient, caller: Caller, url: str) -> str:
    r = await api.post(TARGETS, json={"url": url, "timeout_seconds": 2}, headers=caller.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _scrape(api: httpx.AsyncClient, target_id: str) -> ScrapeOutcome:
    """One scrape with the scraper loop's own client (the outbound policy of the app)."""
    state: AppState = api.app.state.deck  # type: ignore[attr-defined]
    loop = ScrapeLoop(sessions=state.sessions, ingestor=state.ingestor, settings=state.settings)
    try:
        async with state.sessions() as session:
            row = await session.get(ScrapeTarget, uuid.UUID(target_id))
            assert row is not None
            spec = TargetSpec.of(row, None)
        return await scrape_target(
            spec,
            client=loop.client,
            ingestor=state.ingestor,
            sessions=state.sessions,
        )
    finally:
        await loop.close()


async def test_the_default_policy_refuses_a_loopback_target_and_an_allowed_one_is_scraped(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    default = await _app(app_factory, {})
    for url in (f"{server.url}/metrics", f"http://localhost:{server.port}/metrics"):
        outcome = await _scrape(default, await _target(default, dev, url))
        assert outcome.error == "blocked by outbound policy: loopback address"
    assert server.requests == []  # nothing reached the server

    allowed = await _app(app_factory, {"allow_loopback": True})
    outcome = await _scrape(allowed, await _target(allowed, dev, f"{server.url}/metrics?x=1"))
    assert outcome.error is None and outcome.samples_scraped == 1
    assert [path for _, path, _ in server.requests] == ["/metrics?x=1"]


async def test_a_redirect_to_the_metadata_address_fails_the_scrape(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    api = await _app(app_factory, {"allow_loopback": True})
    dev = await factory.user(Role.developer)
    outcome = await _scrape(api, await _target(api, dev, f"{server.url}/to-metadata"))
    assert outcome.error == "blocked by outbound policy: cloud metadata address"


async def test_viewers_read_the_category_admins_a_short_escaped_excerpt(
    app_factory: AppFactory, factory: Factory, server: Seen
) -> None:
    api = await _app(app_factory, {"allow_loopback": True})
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    admin = await factory.user(Role.admin, tenant)
    leak = await _target(api, dev, f"{server.url}/leak")
    down = await _target(api, dev, closed_port_url())
    await _scrape(api, leak)
    await _scrape(api, down)

    for caller in (viewer, dev):
        r = await api.get(f"{TARGETS}/{leak}", headers=caller.headers)
        assert r.json()["last_error"] == "server returned HTTP status 500"
        assert r.json()["last_error_detail"] is None
        assert "SECRET" not in r.text
        listed = await api.get(TARGETS, headers=caller.headers)
        assert "SECRET" not in listed.text
        r = await api.get(f"{TARGETS}/{down}", headers=caller.headers)
        assert r.json()["last_error"] == "connection failed"  # not "refused" vs "timed out"
        assert r.json()["last_error_detail"] is None

    r = await api.get(f"{TARGETS}/{leak}", headers=admin.headers)
    detail = r.json()["last_error_detail"]
    prefix = "server returned HTTP status 500: "
    assert detail.startswith(prefix + "SECRET-INTERNAL-xxx")
    assert len(detail) - len(prefix) <= 200
    assert LEAK.decode() not in detail
    r = await api.get(f"{TARGETS}/{down}", headers=admin.headers)
    assert r.json()["last_error_detail"] == "connection refused"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://[fe80::1]:9100/metrics",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://0.0.0.0:9100/metrics",
    ],
)
async def test_a_target_at_a_metadata_or_link_local_host_is_refused_on_create_and_update(
    app_factory: AppFactory, factory: Factory, url: str
) -> None:
    api = await _app(app_factory, {"allow_loopback": True, "allow_private": True})
    dev = await factory.user(Role.developer)
    r = await api.post(TARGETS, json={"url": url}, headers=dev.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "url"]
    assert "never reached" in r.json()["errors"][0]["message"]
    target = await _target(api, dev, "http://127.0.0.1:9/metrics")
    r = await api.patch(f"{TARGETS}/{target}", json={"url": url}, headers=dev.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "url"]
