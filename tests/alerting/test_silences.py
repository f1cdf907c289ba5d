"""The silences API: create, status, filters, paging, expire, from an alert, preview, tenancy."""

from __future__ import annotations

from datetime import timedelta

import httpx

from agentdeck.audit.models import AuditEntry
from agentdeck.db.base import utcnow
from agentdeck.identity.roles import Role
from tests.alerting.routing_fixtures import World
from tests.conftest import Caller, Factory


def _m(name: str, value: str, op: str = "=") -> dict[str, str]:
    return {"name": name, "op": op, "value": value}


async def test_create_list_filter_page_and_expire(
    api: httpx.AsyncClient, dev: Caller, world: World
) -> None:
    now = utcnow()
    h = dev.headers
    active = await api.post(
        "/api/v1/silences",
        json={
            "matchers": [_m("team", "db")],
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "comment": "db maintenance",
        },
        headers=h,
    )
    assert active.status_code == 201, active.text
    assert active.json()["status"] == "active"
    assert active.json()["created_by"] == str(dev.user_id)
    pending = await api.post(
        "/api/v1/silences",
        json={
            "matchers": [_m("team", "web"), _m("env", "prod|stage", "=~")],
            "starts_at": (now + timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
        },
        headers=h,
    )
    assert pending.json()["status"] == "pending"

    only_pending = await api.get("/api/v1/silences?state=pending", headers=h)
    assert [s["id"] for s in only_pending.json()["items"]] == [pending.json()["id"]]
    by_matcher = await api.get('/api/v1/silences?matcher=team="db"', headers=h)
    assert [s["id"] for s in by_matcher.json()["items"]] == [active.json()["id"]]
    by_comment = await api.get("/api/v1/silences?q=maintenance", headers=h)
    assert [s["id"] for s in by_comment.json()["items"]] == [active.json()["id"]]

    page1 = await api.get("/api/v1/silences?limit=1", headers=h)
    assert len(page1.json()["items"]) == 1 and page1.json()["next_cursor"]
    page2 = await api.get(
        f"/api/v1/silences?limit=1&cursor={page1.json()['next_cursor']}", headers=h
    )
    assert {page1.json()["items"][0]["id"], page2.json()["items"][0]["id"]} == {
        active.json()["id"],
        pending.json()["id"],
    }
    assert page2.json()["next_cursor"] is None

    expired = await api.post(f"/api/v1/silences/{active.json()['id']}/expire", headers=h)
    assert expired.status_code == 200
    assert expired.json()["status"] == "expired"
    assert expired.json()["expired_by"] == str(dev.user_id)
    again = await api.post(f"/api/v1/silences/{active.json()['id']}/expire", headers=h)
    assert again.status_code == 409
    cannot_edit = await api.patch(
        f"/api/v1/silences/{active.json()['id']}", json={"comment": "x"}, headers=h
    )
    assert cannot_edit.status_code == 409
    listed = await api.get("/api/v1/silences?state=expired", headers=h)
    assert [s["id"] for s in listed.json()["items"]] == [active.json()["id"]]

    async with world.sessions() as session:
        from sqlalchemy import select

        actions = set(
            (
                await session.scalars(
                    select(AuditEntry.action).where(AuditEntry.tenant_id == world.tenant_id)
                )
            ).all()
        )
    assert {"silence.create", "silence.expire"} <= actions


async def test_bad_silences_are_refused_naming_the_field(
    api: httpx.AsyncClient, dev: Caller
) -> None:
    now = utcnow()
    later = (now + timedelta(hours=1)).isoformat()
    cases = [
        ({"matchers": [], "ends_at": later}, "matchers"),
        ({"matchers": [_m("team", "(", "=~")], "ends_at": later}, "matchers"),
        ({"matchers": [_m("team", ".*", "=~")], "ends_at": later}, "body"),  # matches all
        (
            {"matchers": [_m("team", "db")], "ends_at": (now - timedelta(hours=1)).isoformat()},
            "body",
        ),
        ({"matchers": [_m("team", "db")]}, "ends_at"),
    ]
    for body, field in cases:
        response = await api.post("/api/v1/silences", json=body, headers=dev.headers)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"][0]["loc"], (body, response.json())
    bad_filter = await api.get('/api/v1/silences?matcher=team=~"("', headers=dev.headers)
    assert bad_filter.status_code == 422
    assert bad_filter.json()["errors"][0]["loc"] == ["query", "matcher", 0]


async def test_silence_from_alert_and_preview(
    api: httpx.AsyncClient, dev: Caller, world: World
) -> None:
    alert = await world.alert({"agent": "a1", "team": "db"})
    other = await world.alert({"agent": "a2", "team": "web"})
    made = await api.post(
        f"/api/v1/silences/from-alert/{alert.id}",
        json={"duration_seconds": 600, "comment": "looking into it"},
        headers=dev.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["matchers"] == [
        _m("agent", "a1"),
        _m("alertname", "TestAlert"),
        _m("team", "db"),
    ]
    assert made.json()["status"] == "active"
    narrow = await api.post(
        f"/api/v1/silences/from-alert/{alert.id}",
        json={"label_names": ["nope"]},
        headers=dev.headers,
    )
    assert narrow.status_code == 422
    assert narrow.json()["errors"][0]["loc"] == ["body", "label_names"]

    preview = await api.post(
        "/api/v1/silences/preview",
        json={"matchers": [_m("team", "db|web", "=~")]},
        headers=dev.headers,
    )
    assert preview.status_code == 200
    assert {a["id"] for a in preview.json()["alerts"]} == {str(alert.id), str(other.id)}
    preview_one = await api.post(
        "/api/v1/silences/preview", json={"matchers": [_m("agent", "a2")]}, headers=dev.headers
    )
    assert [a["id"] for a in preview_one.json()["alerts"]] == [str(other.id)]


async def test_tenants_cannot_see_or_change_each_others_silences(
    api: httpx.AsyncClient, dev: Caller, world: World, factory: Factory
) -> None:
    alert = await world.alert({"team": "db"})
    made = await api.post(
        "/api/v1/silences",
        json={
            "matchers": [_m("team", "db")],
            "ends_at": (utcnow() + timedelta(hours=1)).isoformat(),
        },
        headers=dev.headers,
    )
    outsider = await factory.user(Role.admin)
    sid = made.json()["id"]
    assert (await api.get(f"/api/v1/silences/{sid}", headers=outsider.headers)).status_code == 404
    assert (
        await api.post(f"/api/v1/silences/{sid}/expire", headers=outsider.headers)
    ).status_code == 404
    assert (
        await api.delete(f"/api/v1/silences/{sid}", headers=outsider.headers)
    ).status_code == 404
    assert (await api.get("/api/v1/silences", headers=outsider.headers)).json()["items"] == []
    from_alert = await api.post(
        f"/api/v1/silences/from-alert/{alert.id}", json={}, headers=outsider.headers
    )
    assert from_alert.status_code == 404
    preview = await api.post(
        "/api/v1/silences/preview", json={"matchers": [_m("team", "db")]}, headers=outsider.headers
    )
    assert preview.json()["alerts"] == []
    assert (await api.get(f"/api/v1/silences/{sid}", headers=dev.headers)).json()[
        "status"
    ] == "active"
