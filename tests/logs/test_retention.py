"""Log retention: the tenant's own days or the default, enforced by the leased loop."""

from __future__ import annotations

from agentdeck.identity.roles import Role
from agentdeck.identity.service import logs_retention_days_source
from agentdeck.logs.retention import LogRetentionLoop
from tests.conftest import Factory
from tests.logs.conftest import NS, AppFactory, entry, make_deck, now_ns

DAY = 86_400 * NS


async def test_per_tenant_retention(app_factory: AppFactory, factory: Factory) -> None:
    a = await make_deck(app_factory, factory, loops={"enabled": False})
    b = await make_deck(app_factory, factory)
    b.api = a.api
    admin = await factory.user(Role.admin, a.tenant)
    response = await a.api.patch(
        "/api/v1/tenant", json={"logs_retention_days": 2}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["logs_retention_days"], body["effective_logs_retention_days"]) == (2, 2)

    now = now_ns()
    for deck in (a, b):
        response = await deck.batch(
            [entry("fresh", timestamp=now - NS), entry("day old", timestamp=now - DAY - NS)]
        )
        assert response.json()["accepted"] == 2
    # a's retention of 2 days already refuses a line 3 days old at ingest
    refused = await a.batch([entry("too old", timestamp=now - 3 * DAY)])
    assert refused.status_code == 400
    assert "retention of 2 days" in refused.json()["errors"][0]["message"]

    state = a.api.app.state.deck  # type: ignore[attr-defined]
    loop = LogRetentionLoop(
        retention_days=logs_retention_days_source(state.sessions, 7),
        store=state.log_store,
        default_days=7,
        interval=3600,
        clock_ns=lambda: now + DAY + 2 * NS,  # a day later: a's day-old line is 2 days old
    )
    await loop.tick()
    start = str(now - 5 * DAY)
    assert await a.messages(start=start) == ["fresh"]
    assert await b.messages(start=start) == ["day old", "fresh"]
