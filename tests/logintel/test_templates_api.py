"""Template mining on the ingest path: ids on stored lines, the templates API, ``?template=``,
persistence across a restart, tenant isolation, bad parameters and the miner's metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def blocks(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        entry(
            f"Receiving block blk_{1000 + i} src: /10.0.0.{i % 9}:50010 dest: /10.0.1.{i % 7}:50010"
        )
        for i in range(start, start + n)
    ]


def closes(n: int) -> list[dict[str, Any]]:
    return [
        entry(f"Connection closed by peer {i} after {i * 3} ms", service="db") for i in range(n)
    ]


async def templates(deck: Deck, **params: Any) -> httpx.Response:
    return await deck.api.get("/api/v1/logs/templates", params=params, headers=deck.viewer.headers)


async def test_ingested_lines_get_templates_with_counts_and_samples(deck: Deck) -> None:
    assert (await deck.batch(blocks(12))).status_code < 300
    assert (await deck.batch(closes(5))).status_code < 300
    response = await templates(deck)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["count"] for i in items] == [12, 5]  # most lines first
    top = items[0]
    assert top["template"] == "Receiving block <*> src: <*> dest: <*>"
    assert top["services"] == ["api"]
    assert len(top["samples"]) == 5  # logintel.template_samples
    assert top["samples"][0].startswith("Receiving block blk_1000 ")
    assert len(top["trend"]) == 24 and top["trend"][-1] == 12
    assert top["first_seen"] is not None and top["last_seen"] >= top["first_seen"]
    # every stored line carries its template id
    lines = await deck.search()
    assert {line["template_id"] for line in lines} == {items[0]["id"], items[1]["id"]}
    one = await deck.api.get(f"/api/v1/logs/templates/{top['id']}", headers=deck.viewer.headers)
    assert one.status_code == 200 and one.json()["count"] == 12


async def test_filters_sorts_and_pages(deck: Deck) -> None:
    await deck.batch(blocks(3))
    await deck.batch(closes(4))
    by_service = (await templates(deck, service="db")).json()["items"]
    assert [i["count"] for i in by_service] == [4]
    found = (await templates(deck, search="RECEIVING")).json()["items"]
    assert [i["count"] for i in found] == [3]
    newest = (await templates(deck, sort="newest")).json()["items"]
    assert newest[0]["template"].startswith("Connection closed")
    first = (await templates(deck, limit=1)).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = (await templates(deck, limit=1, cursor=first["next_cursor"])).json()
    assert second["next_cursor"] is None
    assert second["items"][0]["id"] != first["items"][0]["id"]


async def test_template_filter_returns_exactly_its_lines(deck: Deck) -> None:
    await deck.batch(blocks(6))
    await deck.batch(closes(3))
    items = (await templates(deck)).json()["items"]
    block_id = items[0]["id"]
    lines = await deck.search("", template=block_id)
    assert len(lines) == 6
    assert all(line["message"].startswith("Receiving block") for line in lines)
    assert all(line["template_id"] == block_id for line in lines)
    # the LogQL field does the same
    assert len(await deck.search(f'{{template="{block_id}"}}')) == 6
    assert await deck.search("", template=987654) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "loudest"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    deck: Deck, params: dict[str, Any], field: str
) -> None:
    response = await templates(deck, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["loc"][-1] for error in response.json()["errors"]]


async def test_bad_template_parameter_on_search_and_unknown_template(deck: Deck) -> None:
    response = await deck.api.get(
        "/api/v1/logs", params={"template": "x"}, headers=deck.viewer.headers
    )
    assert response.status_code == 422
    assert "template" in [e["loc"][-1] for e in response.json()["errors"]]
    missing = await deck.api.get("/api/v1/logs/templates/424242", headers=deck.viewer.headers)
    assert missing.status_code == 404


async def test_tenants_see_only_their_templates(app_factory: AppFactory, factory: Factory) -> None:
    deck = await make_deck(app_factory, factory, loops={"enabled": False})
    await deck.batch(blocks(4))
    other_tenant = await factory.tenant()
    other_key = await factory.api_key(Role.developer, other_tenant)
    other_viewer = await factory.user(Role.viewer, other_tenant)
    await deck.api.post(
        "/api/v1/logs/batch", json={"entries": closes(2)}, headers=other_key.headers
    )
    mine = (await templates(deck)).json()["items"]
    theirs = (await deck.api.get("/api/v1/logs/templates", headers=other_viewer.headers)).json()[
        "items"
    ]
    assert [i["template"][:9] for i in mine] == ["Receiving"]
    assert [i["template"][:10] for i in theirs] == ["Connection"]
    # ids are per tenant: the other tenant cannot read mine by id unless it has its own
    assert mine[0]["id"] == theirs[0]["id"] == 1
    assert (await deck.search("", template=1))[0]["message"].startswith("Receiving")


@asynccontextmanager
async def running(settings_factory: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_factory(loops={"enabled": False}), run_migrations=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def test_templates_survive_a_restart(settings_factory: Any, factory: Factory) -> None:
    tenant = await factory.tenant()
    key = await factory.api_key(Role.developer, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    async with running(settings_factory) as api:
        await api.post("/api/v1/logs/batch", json={"entries": blocks(5)}, headers=key.headers)
        await api.post("/api/v1/logs/batch", json={"entries": closes(2)}, headers=key.headers)
        before = (await api.get("/api/v1/logs/templates", headers=viewer.headers)).json()["items"]
    async with running(settings_factory) as api:
        after = (await api.get("/api/v1/logs/templates", headers=viewer.headers)).json()["items"]
        assert [(i["id"], i["template"], i["count"]) for i in after] == [
            (i["id"], i["template"], i["count"]) for i in before
        ]
        assert after[0]["samples"] == before[0]["samples"]
        # new lines of a known template keep its id
        await api.post("/api/v1/logs/batch", json={"entries": blocks(2, 50)}, headers=key.headers)
        again = (await api.get("/api/v1/logs/templates", headers=viewer.headers)).json()["items"]
        assert again[0]["id"] == before[0]["id"] and again[0]["count"] == 7


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_eviction_bound_is_counted_in_metrics(
    app_factory: AppFactory, factory: Factory
) -> None:
    deck = await make_deck(
        app_factory,
        factory,
        loops={"enabled": False},
        logintel={"max_templates_per_tenant": 10},
    )
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima"
    lines = [entry(f"{w} subsystem started cleanly") for w in words.split()]
    lines += [entry(f"event {w} {w} {w} done") for w in words.split()]
    assert (await deck.batch(lines)).status_code < 300
    items = (await templates(deck, limit=500)).json()["items"]
    assert len(items) <= 10
    text = (await deck.api.get("/metrics")).text
    assert _metric(text, "agentdeck_log_templates_evicted_total") > 0
    assert _metric(text, "agentdeck_log_template_lines_mined_total") == len(lines)
    assert _metric(text, "agentdeck_log_templates") <= 10
    assert _metric(text, "agentdeck_log_template_mining_duration_seconds_count") >= 1


async def test_merged_ids_resolve_to_the_surviving_template(deck: Deck) -> None:
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"]
    await deck.batch([entry(f"User {u} logged in from console") for u in users])
    stored = {line["message"].split()[1]: line["template_id"] for line in await deck.search()}
    assert len(set(stored.values())) == 2  # "bob" got a template later merged into the first
    survivor, merged = stored["alice"], stored["bob"]
    one = await deck.api.get(f"/api/v1/logs/templates/{merged}", headers=deck.viewer.headers)
    assert one.status_code == 200
    body = one.json()
    assert body["id"] == survivor and body["merged_ids"] == [merged] and body["count"] == 8
    assert body["template"] == "User <*> logged in from console"
    # the survivor's lines include those stored under the merged id; the merged id asks the same
    assert len(await deck.search("", template=survivor)) == 8
    assert len(await deck.search("", template=merged)) == 8
    items = (await templates(deck)).json()["items"]
    assert [(i["id"], i["count"]) for i in items] == [(survivor, 8)]
    assert len(items[0]["samples"]) == 5  # the merged template's samples folded in, bounded
