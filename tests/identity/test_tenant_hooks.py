"""Identity tells other domains about a new tenant through its hook, not by importing them."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import AlertRule
from agentdeck.alerting.rules.defaults import default_pack
from agentdeck.identity import hooks
from agentdeck.identity.service import ensure_tenant


async def test_a_new_tenant_gets_the_default_rules(session: AsyncSession) -> None:
    tenant, created = await ensure_tenant(session, slug="hooked")
    await session.commit()
    assert created
    rules = await session.scalar(
        select(func.count()).select_from(AlertRule).where(AlertRule.tenant_id == tenant.id)
    )
    assert rules == len(default_pack())


async def test_listeners_run_in_the_creating_transaction(session: AsyncSession) -> None:
    seen: list[uuid.UUID] = []

    async def listener(s: AsyncSession, tenant_id: uuid.UUID) -> None:
        assert s is session  # the caller's transaction: its commit keeps both or neither
        seen.append(tenant_id)

    hooks.on_tenant_created(listener)
    hooks.on_tenant_created(listener)  # registered once
    try:
        tenant, _ = await ensure_tenant(session, slug="listened")
        again, created = await ensure_tenant(session, slug="listened")
    finally:
        hooks._tenant_created.remove(listener)
    assert seen == [tenant.id]  # not for a tenant that already existed
    assert again.id == tenant.id and not created
