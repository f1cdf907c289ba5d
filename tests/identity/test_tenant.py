"""Tenant settings: read by anyone in the tenant, changed by admins; the effective agent quota."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from agentdeck.identity.service import effective_agent_quota, effective_retention_days
from tests.conftest import Factory
from tests.identity.helpers import TENANT, AppFactory, counts, field_locs, problem


async def test_viewer_reads_the_tenant_with_the_server_default_quota(
    app_factory: AppFactory, factory: Factory
) -> None:
    client = await app_factory(
        default_agent_quota=7, tsdb={"retention_days": 12}, logs={"retention_days": 5}
    )
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    key = await factory.api_key(Role.viewer, tenant)
    for caller in (viewer, key):
        response = await client.get(TENANT, headers=caller.headers)
        assert response.status_code == 200
        assert response.json() == {
            "id": str(tenant.id),
            "slug": tenant.slug,
            "name": tenant.name,
            "agent_quota_per_user": None,
            "effective_agent_quota": 7,
            "retention_days": None,
            "effective_retention_days": 12,
            "logs_retention_days": None,
            "effective_logs_retention_days": 5,
        }
    problem(await client.get(TENANT), 401, "unauthorized")


async def test_admin_renames_and_sets_the_quota_then_resets_it(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    response = await client.patch(
        TENANT, json={"name": "Acme Ops", "agent_quota_per_user": 3}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Acme Ops" and body["slug"] == tenant.slug
    assert body["agent_quota_per_user"] == 3 and body["effective_agent_quota"] == 3
    assert await effective_agent_quota(session, tenant.id, 10) == 3

    zero = await client.patch(TENANT, json={"agent_quota_per_user": 0}, headers=admin.headers)
    assert zero.json()["effective_agent_quota"] == 0

    reset = await client.patch(TENANT, json={"agent_quota_per_user": None}, headers=admin.headers)
    assert reset.status_code == 200
    assert reset.json()["agent_quota_per_user"] is None
    assert reset.json()["effective_agent_quota"] == 10  # the server default
    assert reset.json()["name"] == "Acme Ops"
    await session.commit()
    assert await effective_agent_quota(session, tenant.id, 10) == 10

    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "tenant.update", AuditEntry.tenant_id == tenant.id)
            .order_by(AuditEntry.at)
        )
    )
    assert len(entries) == 3
    assert entries[0].changes == {
        "before": {"name": tenant.name, "agent_quota_per_user": None},
        "after": {"name": "Acme Ops", "agent_quota_per_user": 3},
    }

    # an empty or unchanged patch answers the tenant and writes nothing
    before = await counts(session)
    for patch in ({}, {"name": "Acme Ops"}):
        same = await client.patch(TENANT, json=patch, headers=admin.headers)
        assert same.status_code == 200 and same.json()["name"] == "Acme Ops"
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"agent_quota_per_user": -1}, "agent_quota_per_user"),
        ({"agent_quota_per_user": 1001}, "agent_quota_per_user"),
        ({"agent_quota_per_user": "lots"}, "agent_quota_per_user"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"slug": "renamed"}, "slug"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 3651}, "retention_days"),
        ({"retention_days": 7.5}, "retention_days"),
        ({"retention_days": "forever"}, "retention_days"),
    ],
)
async def test_bad_patch_writes_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    payload: dict[str, Any],
    loc: str,
) -> None:
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    before = await counts(session)
    response = await client.patch(TENANT, json=payload, headers=admin.headers)
    assert ["body", loc] in field_locs(problem(response, 422, "validation-error"))
    assert await counts(session) == before
    row = await session.get(Tenant, tenant.id, populate_existing=True)
    assert row is not None and row.name == tenant.name and row.agent_quota_per_user is None
    assert row.retention_days is None


async def test_only_admins_change_the_tenant(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    developer = await factory.user(Role.developer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    before = await counts(session)
    for caller in (developer, key):
        for patch in ({"name": "Mine"}, {"retention_days": 400}):
            response = await client.patch(TENANT, json=patch, headers=caller.headers)
            problem(response, 403, "forbidden")
    assert await counts(session) == before


async def test_each_admin_changes_only_their_own_tenant(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant_a = await factory.tenant()
    tenant_b = await factory.tenant()
    admin_b = await factory.user(Role.admin, tenant_b)
    response = await client.patch(
        TENANT,
        json={"name": "B renamed", "agent_quota_per_user": 1, "retention_days": 3},
        headers=admin_b.headers,
    )
    assert response.status_code == 200 and response.json()["id"] == str(tenant_b.id)
    row_a = await session.get(Tenant, tenant_a.id, populate_existing=True)
    assert row_a is not None
    assert (row_a.name, row_a.agent_quota_per_user) == (tenant_a.name, None)
    assert row_a.retention_days is None
    assert await effective_agent_quota(session, tenant_a.id, 10) == 10
    assert await effective_agent_quota(session, tenant_b.id, 10) == 1
    assert await effective_retention_days(session, tenant_a.id, 30) == 30
    assert await effective_retention_days(session, tenant_b.id, 30) == 3


async def test_admin_sets_the_metrics_retention_then_resets_it(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    client = await app_factory(tsdb={"retention_days": 30})
    tenant = await factory.tenant()
    admin = await factory.user(Role.admin, tenant)
    viewer = await factory.user(Role.viewer, tenant)
    for days in (1, 3650, 90):
        response = await client.patch(TENANT, json={"retention_days": days}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["retention_days"] == days
        assert response.json()["effective_retention_days"] == days
    seen = (await client.get(TENANT, headers=viewer.headers)).json()
    assert (seen["retention_days"], seen["effective_retention_days"]) == (90, 90)

    reset = await client.patch(TENANT, json={"retention_days": None}, headers=admin.headers)
    assert reset.json()["retention_days"] is None
    assert reset.json()["effective_retention_days"] == 30
    await session.commit()
    assert await effective_retention_days(session, tenant.id, 30) == 30
    changes = list(
        await session.scalars(
            select(AuditEntry.changes)
            .where(AuditEntry.action == "tenant.update", AuditEntry.tenant_id == tenant.id)
            .order_by(AuditEntry.at)
        )
    )
    assert [(c["before"]["retention_days"], c["after"]["retention_days"]) for c in changes] == [
        (None, 1),
        (1, 3650),
        (3650, 90),
        (90, None),
    ]


async def test_out_of_range_retention_names_the_field_and_range(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(Role.admin, await factory.tenant())
    response = await client.patch(TENANT, json={"retention_days": 0}, headers=admin.headers)
    body = problem(response, 422, "validation-error")
    (error,) = body["errors"]
    assert error["loc"] == ["body", "retention_days"]
    assert error["message"] == "Input should be greater than or equal to 1"
