"""HTTP routes of GitHub webhooks: the payload URL, and the admin's secret."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from agentdeck.db.base import utcnow
from agentdeck.errors import Malformed
from agentdeck.fleet.deployments.schemas import DeploymentSummary
from agentdeck.fleet.events import publish_deployment
from agentdeck.fleet.github import service
from agentdeck.fleet.github.schemas import GitHubSecretCreated, GitHubSecretStatus, WebhookResult
from agentdeck.identity.models import Tenant
from agentdeck.notify.crypto import SecretBox
from agentdeck.server.deps import Admin, BusDep, FleetDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/webhooks/github", tags=["github"])

_SIGNATURE: dict[int | str, dict[str, Any]] = {
    401: {"description": "The signature is missing or wrong, or the tenant has no secret."}
}


async def _slug(session: SessionDep, principal: Admin) -> str:
    tenant = await session.get(Tenant, principal.tenant_id)
    return tenant.slug if tenant is not None else ""


@router.get("/secret", response_model=GitHubSecretStatus, operation_id="get_github_secret")
async def get_github_secret(principal: Admin, session: SessionDep) -> GitHubSecretStatus:
    """Whether the tenant's webhook secret is set, when it was rotated, and the payload URL's
    path to give GitHub (the secret itself is never shown again)."""
    return await service.secret_status(
        session, tenant_id=principal.tenant_id, slug=await _slug(session, principal)
    )


@router.put("/secret", response_model=GitHubSecretCreated, operation_id="rotate_github_secret")
async def rotate_github_secret(
    principal: Admin, session: SessionDep, settings: SettingsDep
) -> GitHubSecretCreated:
    """Make a new random webhook secret for the tenant and answer it, this once: paste it into
    the webhook on GitHub (content type `application/json`). A secret it replaces still
    verifies for an hour, time to update GitHub. Stored encrypted under the server's key."""
    value, row = await service.rotate_secret(
        session, actor=principal, box=SecretBox.from_settings(settings), now=utcnow()
    )
    slug = await _slug(session, principal)
    await session.commit()
    status = await service.secret_status(session, tenant_id=principal.tenant_id, slug=slug)
    return GitHubSecretCreated(**status.model_dump(), secret=value)


@router.post(
    "/{tenant_slug}",
    response_model=WebhookResult,
    operation_id="receive_github_webhook",
    responses=_SIGNATURE,
)
async def receive_github_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    fleet: FleetDep,
    bus: BusDep,
    tenant_slug: str,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
    x_github_event: Annotated[str | None, Header(max_length=64)] = None,
    x_github_delivery: Annotated[str | None, Header(max_length=64)] = None,
) -> WebhookResult:
    """GitHub's payload URL for the tenant `tenant_slug` (set the content type to
    `application/json` and the tenant's secret). Every delivery must carry
    `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body under the secret (401 otherwise,
    the same answer whatever was wrong). `ping` answers ok; a `push` to a branch and a
    published `release` deploy the agents whose `config.source {repo, branch}` match; other
    events are ignored. A delivery id seen before answers `duplicate` and does nothing."""
    body = await request.body()
    now = utcnow()
    tenant = await service.verify(
        session,
        slug=tenant_slug,
        body=body,
        given=x_hub_signature_256,
        box=SecretBox.from_settings(settings),
        now=now,
    )
    if not x_github_event or not x_github_delivery:
        raise Malformed(
            "X-GitHub-Event and X-GitHub-Delivery are required", kind="missing-github-headers"
        )
    try:
        payload = json.loads(body)
    except ValueError:
        raise Malformed(
            "the body is not JSON (set the webhook's content type to application/json)",
            kind="invalid-payload",
        ) from None
    delivery = await service.remember(
        session,
        tenant_id=tenant.id,
        delivery=x_github_delivery,
        event=x_github_event,
        now=now,
    )
    if delivery is None:
        return WebhookResult(
            status="duplicate",
            event=x_github_event,
            delivery=x_github_delivery,
            detail="this delivery was handled before; nothing was done",
        )
    result, rows = await service.handle(
        session,
        tenant=tenant,
        event=x_github_event,
        delivery=x_github_delivery,
        payload=payload,
        driver=fleet.driver,
        default_deadline=settings.fleet.readiness_deadline_seconds,
    )
    delivery.result = result.model_dump(mode="json")
    await session.commit()
    if rows:
        fleet.wake()
    for row in rows:
        summary = DeploymentSummary.of(row).model_dump(mode="json")
        publish_deployment(bus, row, action="created", summary=summary)
    return result
