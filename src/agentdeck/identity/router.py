"""Identity routes: authentication, users, API keys and the tenant's settings.

``router`` gathers the auth and users/keys routers and holds the tenant routes itself.
"""

from __future__ import annotations

from fastapi import APIRouter

from agentdeck.identity import service
from agentdeck.identity.auth_router import router as auth_router
from agentdeck.identity.models import Tenant
from agentdeck.identity.schemas import TenantPublic, TenantUpdate
from agentdeck.identity.users_router import router as users_router
from agentdeck.server.deps import Admin, SessionDep, SettingsDep, Viewer
from agentdeck.settings import Settings

router = APIRouter(prefix="/api/v1")
router.include_router(auth_router)
router.include_router(users_router)


def _tenant_public(tenant: Tenant, settings: Settings) -> TenantPublic:
    quota = tenant.agent_quota_per_user
    retention = tenant.retention_days
    return TenantPublic(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        agent_quota_per_user=quota,
        effective_agent_quota=settings.default_agent_quota if quota is None else quota,
        retention_days=retention,
        effective_retention_days=settings.tsdb.retention_days if retention is None else retention,
        logs_retention_days=tenant.logs_retention_days,
        effective_logs_retention_days=settings.logs.retention_days
        if tenant.logs_retention_days is None
        else tenant.logs_retention_days,
    )


@router.get("/tenant", response_model=TenantPublic, tags=["tenant"])
async def get_tenant(principal: Viewer, session: SessionDep, settings: SettingsDep) -> TenantPublic:
    """The caller's tenant and its settings."""
    tenant = await service.get_tenant(session, tenant_id=principal.tenant_id)
    return _tenant_public(tenant, settings)


@router.patch("/tenant", response_model=TenantPublic, tags=["tenant"])
async def update_tenant(
    body: TenantUpdate, principal: Admin, session: SessionDep, settings: SettingsDep
) -> TenantPublic:
    """Rename the tenant, set its per-user agent quota, its metrics retention or its log
    retention (null: the server default)."""
    tenant = await service.update_tenant(
        session, actor=principal, tenant_id=principal.tenant_id, data=body
    )
    await session.commit()
    return _tenant_public(tenant, settings)
