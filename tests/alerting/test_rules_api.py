"""Alert rules CRUD: create from a threshold form or PromQL, filters and paging, ETags,
validation naming the field, tenancy and the audit log."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.roles import Role
from agentdeck.notify.models import ChannelKind, NotificationChannel
from tests.alerting.rules_support import RULES, threshold_rule
from tests.conftest import Factory


def _field(problem: dict[str, object]) -> list[list[object]]:
    return [e["loc"] for e in problem["errors"]]  # type: ignore[index, union-attr]


async def test_threshold_rule_round_trip(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    dev = await factory.user(Role.developer)
    body = threshold_rule(
        for_seconds=120,
        keep_firing_for_seconds=60,
        labels={"team": "ops"},
        no_data_state="nodata",
        interval_seconds=30,
    )
    body["threshold"]["label_filters"] = [{"name": "env", "op": "=~", "value": "prod|stage"}]
    created = await client.post(RULES, json=body, headers=dev.headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["expr"] == 'avg_over_time(agent_cpu_percent{env=~"prod|stage"}[5m]) >= 70'
    assert rule["threshold"]["operator"] == ">="
    assert (rule["for_seconds"], rule["keep_firing_for_seconds"]) == (120, 60)
    assert rule["no_data_state"] == "nodata" and rule["interval_seconds"] == 30
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"{RULES}/{rule['id']}"

    got = await client.get(f"{RULES}/{rule['id']}", headers=dev.headers)
    assert got.json() == rule
    same = await client.get(
        f"{RULES}/{rule['id']}", headers={**dev.headers, "If-None-Match": '"1"'}
    )
    assert same.status_code == 304

    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "alert_rule.create", AuditEntry.resource_id == rule["id"]
        )
    )
    assert entry is not None and entry.changes["after"]["name"] == "HighCPU"


async def test_promql_rule_and_update_with_if_match(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    created = await client.post(
        RULES,
        json={"name": "Errors", "expr": "rate(agent_errors_total[5m]) > 0.1", "severity": "error"},
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["threshold"] is None
    url = f"{RULES}/{rule['id']}"

    stale = await client.patch(
        url, json={"enabled": False}, headers={**dev.headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    assert (await client.get(url, headers=dev.headers)).json()["enabled"] is True

    disabled = await client.patch(
        url, json={"enabled": False}, headers={**dev.headers, "If-Match": '"1"'}
    )
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert disabled.headers["ETag"] == '"2"'

    # Switching to the threshold form recompiles expr; back to PromQL clears the form.
    to_form = await client.patch(
        url, json={"threshold": threshold_rule()["threshold"]}, headers=dev.headers
    )
    assert to_form.json()["expr"] == "avg_over_time(agent_cpu_percent[5m]) >= 70"
    back = await client.patch(url, json={"expr": "up == 0"}, headers=dev.headers)
    assert back.json()["expr"] == "up == 0" and back.json()["threshold"] is None

    assert (await client.delete(url, headers={**dev.headers, "If-Match": '"1"'})).status_code == 412
    assert (await client.delete(url, headers=dev.headers)).status_code == 204
    assert (await client.get(url, headers=dev.headers)).status_code == 404


async def test_list_filters_and_pages(client: httpx.AsyncClient, factory: Factory) -> None:
    dev = await factory.user(Role.developer)
    specs = [
        ("cpu-a", "warning", True, "infra"),
        ("cpu-b", "critical", True, "infra"),
        ("latency", "critical", False, "slo"),
        ("tokens", "info", True, "slo"),
    ]
    for name, severity, enabled, group in specs:
        response = await client.post(
            RULES,
            json=threshold_rule(name, severity=severity, enabled=enabled, group=group),
            headers=dev.headers,
        )
        assert response.status_code == 201, response.text

    async def names(**params: object) -> list[str]:
        response = await client.get(RULES, params=params, headers=dev.headers)
        assert response.status_code == 200, response.text
        return [r["name"] for r in response.json()["items"]]

    assert await names() == ["cpu-a", "cpu-b", "latency", "tokens"]
    assert await names(q="CPU-") == ["cpu-a", "cpu-b"]
    assert await names(severity=["critical", "info"]) == ["cpu-b", "latency", "tokens"]
    assert await names(enabled="false") == ["latency"]
    assert await names(group="slo") == ["latency", "tokens"]

    first = (await client.get(RULES, params={"limit": 3}, headers=dev.headers)).json()
    assert [r["name"] for r in first["items"]] == ["cpu-a", "cpu-b", "latency"]
    rest = (
        await client.get(
            RULES, params={"limit": 3, "cursor": first["next_cursor"]}, headers=dev.headers
        )
    ).json()
    assert [r["name"] for r in rest["items"]] == ["tokens"] and rest["next_cursor"] is None
    bad = await client.get(RULES, params={"cursor": "nope"}, headers=dev.headers)
    assert bad.status_code == 400 and _field(bad.json()) == [["query", "cursor"]]


async def test_bad_input_names_the_field(client: httpx.AsyncClient, factory: Factory) -> None:
    dev = await factory.user(Role.developer)

    async def post(body: dict[str, object]) -> httpx.Response:
        return await client.post(RULES, json=body, headers=dev.headers)

    parse = await post({"name": "x", "expr": "rate(foo[5m] > 1"})
    assert parse.status_code == 400
    assert parse.headers["content-type"].startswith("application/problem+json")
    assert _field(parse.json()) == [["body", "expr"]]
    assert "parse error" in parse.json()["detail"]

    matrix = await post({"name": "x", "expr": "foo[5m]"})
    assert matrix.status_code == 400 and "instant vector" in matrix.json()["detail"]

    both = await post({**threshold_rule(), "expr": "up"})
    assert both.status_code == 422
    neither = await post({"name": "x"})
    assert neither.status_code == 422

    cases = [
        ({"threshold": {**threshold_rule()["threshold"], "operator": "=>"}}, "operator"),
        ({"threshold": {**threshold_rule()["threshold"], "aggregation": "median"}}, "aggregation"),
        ({"threshold": {**threshold_rule()["threshold"], "window": "5 minutes"}}, "window"),
        ({"threshold": {**threshold_rule()["threshold"], "metric_name": "cpu-%"}}, "metric_name"),
        (
            {
                "threshold": {
                    **threshold_rule()["threshold"],
                    "label_filters": [{"name": "agent", "op": "=~", "value": "(unclosed"}],
                }
            },
            "label_filters",
        ),
        ({"annotations": {"summary": "{{ $labels.agent | upper }}"}}, "annotations"),
        ({"annotations": {"summary": "value {{ $value"}}, "annotations"),
        ({"labels": {"severity": "critical"}}, "labels"),
        ({"labels": {"bad-name": "x"}}, "labels"),
        ({"labels": {"team": "{{ $value"}}, "labels"),
        ({"annotations": {"bad-name": "x"}}, "annotations"),
        ({"annotations": {"summary": "x" * 4001}}, "annotations"),
        ({"severity": "fatal"}, "severity"),
        ({"no_data_state": "maybe"}, "no_data_state"),
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"for_seconds": -1}, "for_seconds"),
        ({"name": ""}, "name"),
    ]
    for override, field in cases:
        response = await post(threshold_rule(**override))
        assert response.status_code == 422, (override, response.text)
        assert any(field in loc for loc in _field(response.json())), (field, response.json())

    assert (await post(threshold_rule())).status_code == 201
    taken = await post(threshold_rule())
    assert taken.status_code == 409 and _field(taken.json()) == [["body", "name"]]

    rule_id = (await client.get(RULES, headers=dev.headers)).json()["items"][0]["id"]
    bad_patch = await client.patch(
        f"{RULES}/{rule_id}", json={"expr": "sum(("}, headers=dev.headers
    )
    assert bad_patch.status_code == 400 and _field(bad_patch.json()) == [["body", "expr"]]
    null_patch = await client.patch(f"{RULES}/{rule_id}", json={"name": None}, headers=dev.headers)
    assert null_patch.status_code == 422
    assert (await client.get(f"{RULES}/not-a-uuid", headers=dev.headers)).status_code in (
        404,
        422,
    )


async def test_tenant_a_cannot_see_or_change_tenant_b(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    alice = await factory.user(Role.developer)
    bob = await factory.user(Role.admin)
    rule = (await client.post(RULES, json=threshold_rule(), headers=alice.headers)).json()
    url = f"{RULES}/{rule['id']}"
    assert (await client.get(url, headers=bob.headers)).status_code == 404
    assert (
        await client.patch(url, json={"enabled": False}, headers=bob.headers)
    ).status_code == 404
    assert (await client.delete(url, headers=bob.headers)).status_code == 404
    assert (await client.get(RULES, headers=bob.headers)).json()["items"] == []
    export = await client.get(f"{RULES}/export", headers=bob.headers)
    assert "HighCPU" not in export.text
    # Bob may use the same name in his own tenant.
    assert (await client.post(RULES, json=threshold_rule(), headers=bob.headers)).status_code == 201
    assert (await client.get(url, headers=alice.headers)).json()["enabled"] is True


async def test_viewers_read_but_do_not_write(client: httpx.AsyncClient, factory: Factory) -> None:
    viewer = await factory.user(Role.viewer)
    assert (await client.get(RULES, headers=viewer.headers)).status_code == 200
    refused = await client.post(RULES, json=threshold_rule(), headers=viewer.headers)
    assert refused.status_code == 403


async def test_compile_shows_the_expr(client: httpx.AsyncClient, factory: Factory) -> None:
    viewer = await factory.user(Role.viewer)
    form = {**threshold_rule()["threshold"], "aggregation": "p95", "operator": ">"}
    response = await client.post(
        f"{RULES}/compile", json={"threshold": form}, headers=viewer.headers
    )
    assert response.json() == {
        "expr": "quantile_over_time(0.95, agent_cpu_percent[5m]) > 70",
        "series_expr": "quantile_over_time(0.95, agent_cpu_percent[5m])",
        "operator": ">",
        "threshold": 70.0,
    }
    plain = await client.post(
        f"{RULES}/compile", json={"expr": "sum by (agent) (up)"}, headers=viewer.headers
    )
    assert plain.json()["operator"] is None and plain.json()["threshold"] is None


async def test_threshold_rule_default_annotations_follow_the_form(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    body = threshold_rule()
    del body["annotations"]
    created = await client.post(RULES, json=body, headers=dev.headers)
    assert created.status_code == 201, created.text
    annotations = created.json()["annotations"]
    assert set(annotations) == {"summary", "description"}
    assert all(">= 70" in text and "{{ $value" in text for text in annotations.values())
    url = f"{RULES}/{created.json()['id']}"

    form = {**body["threshold"], "threshold": 85}
    moved = await client.patch(url, json={"threshold": form}, headers=dev.headers)
    assert moved.status_code == 200, moved.text
    assert all(
        ">= 85" in text and "70" not in text for text in moved.json()["annotations"].values()
    )

    own = {"summary": "CPU of {{ $labels.agent }} is hot"}
    edited = await client.patch(url, json={"annotations": own}, headers=dev.headers)
    assert edited.json()["annotations"]["summary"] == own["summary"]  # written by hand: kept
    assert ">= 85" in edited.json()["annotations"]["description"]
    again = await client.patch(
        url, json={"threshold": {**form, "threshold": 90}}, headers=dev.headers
    )
    assert again.json()["annotations"]["summary"] == own["summary"]
    assert ">= 90" in again.json()["annotations"]["description"]

    promql = await client.patch(url, json={"expr": "up == 0"}, headers=dev.headers)
    assert promql.json()["annotations"] == own  # no threshold to tell any more

    given = await client.post(RULES, json=threshold_rule("Given"), headers=dev.headers)
    assert given.json()["annotations"]["summary"] == threshold_rule()["annotations"]["summary"]


async def test_channel_ids_must_be_channels_of_the_callers_tenant(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    dev = await factory.user(Role.developer)
    other = await factory.tenant()
    for tenant_id in (dev.tenant_id, other.id):
        session.add(
            NotificationChannel(
                tenant_id=tenant_id,
                name="ops",
                kind=ChannelKind.webhook,
                config={"url": "http://127.0.0.1:9/hook"},
            )
        )
    await session.commit()
    own = await session.scalar(
        select(NotificationChannel.id).where(NotificationChannel.tenant_id == dev.tenant_id)
    )
    theirs = await session.scalar(
        select(NotificationChannel.id).where(NotificationChannel.tenant_id == other.id)
    )
    assert own is not None and theirs is not None

    for ids, bad_index in (([str(theirs)], 0), ([str(own), str(uuid.uuid4())], 1)):
        refused = await client.post(
            RULES, json=threshold_rule(channel_ids=ids), headers=dev.headers
        )
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["type"] == "/problems/validation-error"
        assert _field(problem) == [["body", "channel_ids", bad_index]]
        assert str(theirs) not in problem["detail"]
    listed = await client.get(RULES, headers=dev.headers)
    assert listed.json()["items"] == []

    created = await client.post(
        RULES, json=threshold_rule(channel_ids=[str(own)]), headers=dev.headers
    )
    assert created.status_code == 201, created.text
    rule_url = f"{RULES}/{created.json()['id']}"
    patched = await client.patch(
        rule_url, json={"channel_ids": [str(own), str(theirs)]}, headers=dev.headers
    )
    assert patched.status_code == 422, patched.text
    assert _field(patched.json()) == [["body", "channel_ids", 1]]
    assert (await client.get(rule_url, headers=dev.headers)).json()["channel_ids"] == [str(own)]
