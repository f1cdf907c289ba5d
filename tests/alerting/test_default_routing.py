"""The default routing tree: a tenant starts with Alertmanager's root route, grouping preset
(one notification group per alert name and agent), shown and edited like any other tree, and
never put back over a tree the tenant saved."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.routing import service as routing
from agentdeck.alerting.routing.tree import match_routes
from agentdeck.identity import service as identity_service
from agentdeck.identity.roles import Role
from tests.alerting.routing_fixtures import World
from tests.alerting.rules_support import RULES
from tests.conftest import Factory

POLICY = "/api/v1/notification-policy"


async def test_a_new_tenant_starts_with_a_grouping_root_route(session: AsyncSession) -> None:
    tenant, created = await identity_service.ensure_tenant(session, slug="routing-tenant")
    await session.commit()
    assert created
    row = await routing.get_policy(session, tenant_id=tenant.id)
    assert row is not None and row.revision == 1
    assert row.tree == {
        "group_by": ["alertname", "agent"],
        "group_wait_seconds": 30.0,
        "group_interval_seconds": 300.0,
        "repeat_interval_seconds": 14400.0,
        "matchers": [],
        "continue": False,
        "routes": [],
    }
    # an escalating incident's warning and critical alerts of one agent are two groups; two
    # agents with the same alert are two groups as well
    labels = {"alertname": "AgentCPUWarning", "agent": "a", "signal": "cpu"}
    routes = match_routes(row.tree, labels)
    assert [r.group_labels(labels) for r in routes] == [
        {"alertname": "AgentCPUWarning", "agent": "a"}
    ]


async def test_the_default_tree_is_shown_editable_and_never_put_back(
    client: httpx.AsyncClient, factory: Factory, world: World
) -> None:
    admin = await factory.user(Role.admin, world.tenant)
    installed = await client.post(f"{RULES}/default-pack", headers=admin.headers)
    assert installed.status_code == 200, installed.text

    shown = await client.get(POLICY, headers=admin.headers)
    assert shown.status_code == 200
    assert shown.headers["etag"] == '"1"'
    assert shown.json()["tree"]["group_by"] == ["alertname", "agent"]
    assert shown.json()["tree"]["receiver_id"] is None  # until the tenant picks one

    receiver = await world.receiver(await world.channel(), name="on-call")
    edited_tree = {**shown.json()["tree"], "receiver_id": str(receiver.id), "group_by": ["agent"]}
    edited = await client.put(
        POLICY, json=edited_tree, headers={**admin.headers, "If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["etag"] == '"2"'

    again = await client.post(f"{RULES}/default-pack", headers=admin.headers)
    assert again.status_code == 200
    kept = (await client.get(POLICY, headers=admin.headers)).json()
    assert kept["revision"] == 2
    assert kept["tree"]["group_by"] == ["agent"]
    assert kept["tree"]["receiver_id"] == str(receiver.id)
