"""Log streams and batches over HTTP: create/list/stop, validation, cutting by size and by
timeout, statistics, the batch with its lines, cleanup, and tenant isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agentdeck.db.base import utcnow
from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.identity.helpers import audit_actions
from tests.logintel.conftest import create_stream, round_trip
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def lines(
    n: int, severity: str = "INFO", service: str = "api", start: int = 0
) -> list[dict[str, Any]]:
    return [
        entry(f"request {i} served in {i % 50} ms", severity=severity, service=service)
        for i in range(start, start + n)
    ]


async def test_create_list_get_and_stop_a_stream(deck: Deck, factory: Factory) -> None:
    created = await create_stream(deck, name="api errors", services=["api"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["severity_filter"] == ["ERROR", "WARNING", "INFO"]
    assert body["batch_size"] == 100 and body["batch_timeout_seconds"] == 300
    assert body["services"] == ["api"] and body["active"] is True
    assert created.headers["location"] == f"/api/v1/log-streams/{body['stream_id']}"
    listed = await deck.api.get("/api/v1/log-streams", headers=deck.viewer.headers)
    assert [s["name"] for s in listed.json()["items"]] == ["api errors"]
    one = await deck.api.get(
        f"/api/v1/log-streams/{body['stream_id']}", headers=deck.viewer.headers
    )
    assert one.status_code == 200 and one.json()["lines_total"] == 0
    stopped = await deck.api.delete(
        f"/api/v1/log-streams/{body['stream_id']}", headers=deck.ingest.headers
    )
    assert stopped.status_code == 204
    again = await deck.api.delete(
        f"/api/v1/log-streams/{body['stream_id']}", headers=deck.ingest.headers
    )
    assert again.status_code == 404
    assert (await deck.api.get("/api/v1/log-streams", headers=deck.viewer.headers)).json()[
        "items"
    ] == []
    everything = await deck.api.get(
        "/api/v1/log-streams", params={"include_stopped": True}, headers=deck.viewer.headers
    )
    assert everything.json()["items"][0]["active"] is False
    assert await audit_actions(factory.session, body["stream_id"]) == [
        "log_stream.create",
        "log_stream.stop",
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batch_size", 9),
        ("batch_size", 1001),
        ("batch_timeout_seconds", 59),
        ("batch_timeout_seconds", 3601),
        ("severity_filter", ["LOUD"]),
        ("severity_filter", []),
        ("name", ""),
        ("services", [""]),
    ],
)
async def test_out_of_range_values_are_422_naming_the_field(
    deck: Deck, field: str, value: Any
) -> None:
    response = await create_stream(deck, **{field: value})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {str(part) for e in response.json()["errors"] for part in e["loc"]}


async def test_boundaries_are_accepted_and_severities_read_in_any_case(deck: Deck) -> None:
    low = await create_stream(
        deck, name="a", batch_size=10, batch_timeout_seconds=60, severity_filter=["error", "Warn"]
    )
    assert low.status_code == 422  # "Warn" is not a stored severity name
    ok = await create_stream(
        deck, name="a", batch_size=10, batch_timeout_seconds=60, severity_filter=["error"]
    )
    assert ok.status_code == 201 and ok.json()["severity_filter"] == ["ERROR"]
    high = await create_stream(deck, name="b", batch_size=1000, batch_timeout_seconds=3600)
    assert high.status_code == 201


async def test_unknown_ids_are_404_and_names_are_unique_among_active(deck: Deck) -> None:
    for path in (
        "/api/v1/log-streams/00000000-0000-0000-0000-000000000000",
        "/api/v1/log-streams/not-a-uuid",
        "/api/v1/log-batches/00000000-0000-0000-0000-000000000000",
    ):
        response = await deck.api.get(path, headers=deck.viewer.headers)
        assert response.status_code == 404, path
    missing = await deck.api.delete(
        "/api/v1/log-streams/00000000-0000-0000-0000-000000000000", headers=deck.ingest.headers
    )
    assert missing.status_code == 404
    assert (await create_stream(deck, name="x")).status_code == 201
    assert (await create_stream(deck, name="x")).status_code == 409


async def test_viewers_cannot_create_streams(deck: Deck) -> None:
    response = await deck.api.post(
        "/api/v1/log-streams", json={"name": "v"}, headers=deck.viewer.headers
    )
    assert response.status_code == 403


async def test_a_batch_closes_at_its_size_with_statistics_and_lines(deck: Deck) -> None:
    severities = ["CRITICAL", "ERROR", "WARNING", "INFO"]
    stream = (
        await create_stream(deck, batch_size=10, services=["api"], severity_filter=severities)
    ).json()
    await deck.batch(lines(6) + lines(2, "ERROR", start=6) + lines(1, "WARNING", start=8))
    await deck.batch(lines(3, "CRITICAL", start=9) + lines(5, service="other"))
    await deck.batch(lines(2, "DEBUG", start=20))  # not in the severity filter
    cut, analysed = await round_trip(deck)
    assert (cut, analysed) == (1, 1)  # 12 matched lines: one batch of 10, 2 wait
    page = await deck.api.get(
        "/api/v1/log-batches",
        params={"stream_id": stream["stream_id"]},
        headers=deck.viewer.headers,
    )
    [summary] = page.json()["items"]
    assert summary["status"] == "completed" and summary["closed_by"] == "size"
    stats = summary["statistics"]
    assert stats["total"] == 10
    assert stats["errors"] == 3  # 2 ERROR + 1 CRITICAL (the other 2 CRITICAL wait)
    assert stats["warnings"] == 1
    assert stats["error_rate"] == pytest.approx(0.3)
    assert stats["by_service"] == {"api": 10}
    assert stats["by_severity"] == {"CRITICAL": 1, "ERROR": 2, "INFO": 6, "WARNING": 1}
    detail = await deck.api.get(
        f"/api/v1/log-batches/{summary['batch_id']}", headers=deck.viewer.headers
    )
    body = detail.json()
    assert len(body["lines"]) == 10
    assert body["lines"][0]["message"] == "request 0 served in 0 ms"
    assert body["lines"][0]["template_id"] is not None
    # 30 % errors: an error_spike (medium) was found in it
    assert len(body["anomaly_ids"]) == 1
    listed = await deck.api.get("/api/v1/log-streams", headers=deck.viewer.headers)
    one = listed.json()["items"][0]
    assert (one["lines_total"], one["batches_total"], one["anomalies_total"]) == (10, 1, 1)


async def test_the_rest_closes_at_the_timeout(deck: Deck) -> None:
    await create_stream(deck, batch_size=100, batch_timeout_seconds=60)
    await deck.batch(lines(7))
    assert await round_trip(deck) == (0, 0)  # neither full nor old
    later = utcnow() + timedelta(seconds=61)
    assert await round_trip(deck, now=later) == (1, 1)
    [batch] = (await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)).json()[
        "items"
    ]
    assert batch["closed_by"] == "timeout" and batch["statistics"]["total"] == 7
    assert batch["status"] == "completed"


async def test_a_stopped_stream_cuts_no_further_batches(deck: Deck) -> None:
    stream = (await create_stream(deck, batch_size=10)).json()
    await deck.batch(lines(5))
    state_round = await round_trip(deck)
    assert state_round == (0, 0)
    await deck.api.delete(f"/api/v1/log-streams/{stream['stream_id']}", headers=deck.ingest.headers)
    await deck.batch(lines(20))
    assert await round_trip(deck, now=utcnow() + timedelta(hours=2)) == (0, 0)


async def test_batches_filter_and_page(deck: Deck) -> None:
    await create_stream(deck, batch_size=10)
    await deck.batch(lines(35))
    assert (await round_trip(deck))[0] == 3
    first = await deck.api.get(
        "/api/v1/log-batches", params={"limit": 2}, headers=deck.viewer.headers
    )
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    second = await deck.api.get(
        "/api/v1/log-batches",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=deck.viewer.headers,
    )
    assert len(second.json()["items"]) == 1
    done = await deck.api.get(
        "/api/v1/log-batches", params={"status": "pending"}, headers=deck.viewer.headers
    )
    assert done.json()["items"] == []
    bad = await deck.api.get(
        "/api/v1/log-batches", params={"status": "lost"}, headers=deck.viewer.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "status"
    naive = await deck.api.get(
        "/api/v1/log-batches", params={"since": "2026-01-01T00:00:00"}, headers=deck.viewer.headers
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["loc"][-1] == "since"


async def test_cleanup_bounds_and_deletion(deck: Deck, factory: Factory) -> None:
    admin = await factory.user(Role.admin, deck.tenant)
    for days in (0, 366, "x"):
        response = await deck.api.post(
            "/api/v1/log-batches/cleanup", params={"retention_days": days}, headers=admin.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][-1] == "retention_days"
    missing = await deck.api.post("/api/v1/log-batches/cleanup", headers=admin.headers)
    assert missing.status_code == 422
    forbidden = await deck.api.post(
        "/api/v1/log-batches/cleanup", params={"retention_days": 1}, headers=deck.viewer.headers
    )
    assert forbidden.status_code == 403
    await create_stream(deck, batch_size=10)
    await deck.batch(lines(10))
    await round_trip(deck, now=utcnow() - timedelta(days=3))
    kept = await deck.api.post(
        "/api/v1/log-batches/cleanup", params={"retention_days": 5}, headers=admin.headers
    )
    assert kept.json()["batches_deleted"] == 0
    gone = await deck.api.post(
        "/api/v1/log-batches/cleanup", params={"retention_days": 2}, headers=admin.headers
    )
    assert gone.status_code == 200 and gone.json()["batches_deleted"] == 1


async def test_tenants_see_only_their_streams_and_batches(
    deck: Deck, app_factory: AppFactory, factory: Factory
) -> None:
    stream = (await create_stream(deck, batch_size=10)).json()
    await deck.batch(lines(10))
    await round_trip(deck)
    other = await factory.tenant()
    stranger = await factory.user(Role.admin, other)
    streams = await deck.api.get("/api/v1/log-streams", headers=stranger.headers)
    assert streams.json()["items"] == []
    batches = await deck.api.get("/api/v1/log-batches", headers=stranger.headers)
    assert batches.json()["items"] == []
    foreign = await deck.api.get(
        f"/api/v1/log-streams/{stream['stream_id']}", headers=stranger.headers
    )
    assert foreign.status_code == 404
    stop = await deck.api.delete(
        f"/api/v1/log-streams/{stream['stream_id']}", headers=stranger.headers
    )
    assert stop.status_code == 404
