"""Tenant B never sees tenant A's lines, labels, values or context (the tail: test_tail)."""

from __future__ import annotations

from tests.conftest import Factory
from tests.logs.conftest import AppFactory, entry, make_deck


async def test_tenants_are_isolated(app_factory: AppFactory, factory: Factory) -> None:
    a = await make_deck(app_factory, factory)
    b = await make_deck(app_factory, factory)
    b.api = a.api  # one app, two tenants
    response = await a.batch([entry("secret of a", service="a-svc", labels={"a_only": "1"})])
    assert response.status_code == 200
    response = await b.batch([entry("line of b", service="b-svc")])
    assert response.status_code == 200

    assert await a.messages() == ["secret of a"]
    assert await b.messages() == ["line of b"]
    assert await b.messages('|= "secret"') == []
    (line_a,) = await a.search()

    response = await b.api.get(f"/api/v1/logs/{line_a['id']}/context", headers=b.viewer.headers)
    assert response.status_code == 404
    names = (await b.api.get("/api/v1/logs/labels", headers=b.viewer.headers)).json()["names"]
    assert "a_only" not in names
    values = await b.api.get("/api/v1/logs/labels/service/values", headers=b.viewer.headers)
    assert values.json()["values"] == ["b-svc"]
    histogram = await b.api.get("/api/v1/logs/histogram", headers=b.viewer.headers)
    assert sum(bucket["total"] for bucket in histogram.json()["buckets"]) == 1
