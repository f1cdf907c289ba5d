"""GitHub webhooks: the tenant's secret, signature checks, deliveries, and deploying.

The tenant is named by the payload URL's path (``/api/v1/webhooks/github/<tenant slug>``):
one webhook per repository (or organisation) per tenant, each tenant with its own secret. A
delivery is verified before anything is read from it: ``X-Hub-Signature-256`` must be
``sha256=`` and the HMAC-SHA256 of the raw body under the tenant's secret (compared in constant
time). An unknown tenant, a tenant without a secret, a missing signature and a wrong one are
answered alike (401, the same problem), so the endpoint tells nothing about which tenants
exist.

``X-GitHub-Delivery`` is remembered per tenant (30 days); a delivery seen before is answered
``duplicate`` and does nothing (GitHub's redeliveries and any replay). A ``push`` to
``refs/heads/<branch>`` deploys, as version ``<first 12 digits of the commit>``, every agent of
the tenant whose ``config.source.repo`` is the repository's full name (case-insensitive) and
whose ``config.source.branch`` (default: the repository's default branch) is the branch. A
``release`` with action ``published`` deploys the release's tag as the version to the agents
whose source branch is the release's ``target_commitish``. Each deployment records who and
what triggered it (``triggered_by`` kind ``github``, the delivery id, the commit and author).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent
from agentdeck.audit.service import record
from agentdeck.errors import DomainError, Malformed, Unauthenticated
from agentdeck.fleet.deployments.schemas import DeploymentCreate, TriggeredBy
from agentdeck.fleet.deployments.service import create_deployment
from agentdeck.fleet.driver import Driver
from agentdeck.fleet.github.models import GitHubDelivery, GitHubWebhookSecret
from agentdeck.fleet.github.schemas import (
    Deployed,
    GitHubSecretStatus,
    PushEvent,
    ReleaseEvent,
    Skipped,
    WebhookResult,
)
from agentdeck.fleet.models import Deployment
from agentdeck.identity.models import Tenant
from agentdeck.identity.principal import Principal
from agentdeck.identity.service import system_principal
from agentdeck.notify.crypto import SecretBox, SecretsUnreadable

WEBHOOK_PATH = "/api/v1/webhooks/github/{slug}"
#: After a rotation the replaced secret still verifies this long (to update GitHub meanwhile).
ROTATION_GRACE = timedelta(hours=1)
DELIVERIES_KEPT = timedelta(days=30)
ACTOR = "github"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def bad_signature() -> Unauthenticated:
    """One answer for every failed verification (no tenant, no secret, missing, wrong)."""
    return Unauthenticated(
        "the X-Hub-Signature-256 header is missing or does not match the body",
        kind="invalid-signature",
    )


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- the secret ------------------------------------------------------------------------------


async def _secret_row(session: AsyncSession, tenant_id: uuid.UUID) -> GitHubWebhookSecret | None:
    return await session.get(GitHubWebhookSecret, tenant_id, populate_existing=True)


async def secret_status(
    session: AsyncSession, *, tenant_id: uuid.UUID, slug: str
) -> GitHubSecretStatus:
    row = await _secret_row(session, tenant_id)
    path = WEBHOOK_PATH.format(slug=slug)
    if row is None:
        return GitHubSecretStatus(configured=False, webhook_path=path)
    return GitHubSecretStatus(
        configured=True,
        webhook_path=path,
        rotated_at=row.rotated_at,
        rotated_by=row.rotated_by,
        previous_valid_until=row.previous_valid_until,
    )


async def rotate_secret(
    session: AsyncSession, *, actor: Principal, box: SecretBox, now: datetime
) -> tuple[str, GitHubWebhookSecret]:
    """A new random secret for the tenant (the plaintext is returned once, stored encrypted);
    the one it replaces verifies for another ``ROTATION_GRACE``."""
    value = secrets.token_urlsafe(32)
    encrypted = box.encrypt({"secret": value})
    assert encrypted is not None
    row = await _secret_row(session, actor.tenant_id)
    if row is None:
        row = GitHubWebhookSecret(tenant_id=actor.tenant_id, secret_encrypted=encrypted)
        session.add(row)
        action = "github.secret.create"
    else:
        row.previous_encrypted = row.secret_encrypted
        row.previous_valid_until = now + ROTATION_GRACE
        row.secret_encrypted = encrypted
        action = "github.secret.rotate"
    row.rotated_at = now
    row.rotated_by = actor.name
    await session.flush()
    await record(
        session,
        actor=actor,
        action=action,
        resource_type="github_webhook",
        resource_id=actor.tenant_id,
        after={"rotated_at": now.isoformat()},
    )
    return value, row


# --- verifying a delivery --------------------------------------------------------------------


async def verify(
    session: AsyncSession,
    *,
    slug: str,
    body: bytes,
    given: str | None,
    box: SecretBox,
    now: datetime,
) -> Tenant:
    """The tenant whose secret signed ``body`` (Unauthenticated otherwise, always the same)."""
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    row = await _secret_row(session, tenant.id) if tenant is not None else None
    if tenant is None or row is None or not given:
        raise bad_signature()
    candidates = [row.secret_encrypted]
    if row.previous_encrypted and row.previous_valid_until and now < row.previous_valid_until:
        candidates.append(row.previous_encrypted)
    matched = False
    for token in candidates:
        try:
            secret = str(box.decrypt(token).get("secret") or "")
        except SecretsUnreadable:
            continue
        # compare every candidate, in constant time each
        matched = hmac.compare_digest(signature(secret, body), given) or matched
    if not matched:
        raise bad_signature()
    return tenant


async def remember(
    session: AsyncSession, *, tenant_id: uuid.UUID, delivery: str, event: str, now: datetime
) -> GitHubDelivery | None:
    """Record the delivery; None when it was seen before (a replay). The first write of the
    request's transaction: a duplicate rolls back nothing else, and the deployments after it
    are savepoints inside a transaction already begun (on SQLite too)."""
    seen = await session.get(GitHubDelivery, (tenant_id, delivery))
    if seen is not None:
        return None
    row = GitHubDelivery(tenant_id=tenant_id, delivery_id=delivery, event=event, received_at=now)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # the same delivery, twice at once
        await session.rollback()
        return None
    await session.execute(
        delete(GitHubDelivery).where(
            GitHubDelivery.tenant_id == tenant_id,
            GitHubDelivery.received_at < now - DELIVERIES_KEPT,
        )
    )
    return row


# --- deploying -------------------------------------------------------------------------------


def _source(agent: Agent) -> tuple[str, str | None] | None:
    source = (agent.config or {}).get("source")
    if not isinstance(source, dict) or not isinstance(source.get("repo"), str):
        return None
    branch = source.get("branch")
    return source["repo"].strip().lower(), branch if isinstance(branch, str) else None


async def matching_agents(
    session: AsyncSession, *, tenant_id: uuid.UUID, repo: str, branch: str, default_branch: str
) -> list[Agent]:
    """The tenant's agents whose ``config.source`` is ``repo`` at ``branch``."""
    agents = await session.scalars(
        select(Agent).where(Agent.tenant_id == tenant_id).order_by(Agent.name)
    )
    found = []
    for agent in agents:
        source = _source(agent)
        if source is None or source[0] != repo.lower():
            continue
        if (source[1] or default_branch) == branch:
            found.append(agent)
    return found


Answer = tuple[WebhookResult, list[Deployment]]


@dataclass(frozen=True, slots=True)
class _Delivery:
    """One verified delivery being acted on: where it deploys and how it is answered."""

    session: AsyncSession
    tenant: Tenant
    event: str
    delivery: str
    driver: Driver
    default_deadline: float

    def answer(self, status: str, detail: str) -> Answer:
        """A delivery that deploys nothing."""
        return WebhookResult(
            status=status, detail=detail, event=self.event, delivery=self.delivery
        ), []

    async def deploy(
        self,
        *,
        repo: str,
        branch: str,
        default_branch: str,
        data: dict[str, Any],
        trigger: TriggeredBy,
        author: str | None,
    ) -> Answer:
        """Deploy ``data`` to every agent whose source is ``repo`` at ``branch`` (each in its
        own savepoint: one refused agent is skipped, the others go on)."""
        agents = await matching_agents(
            self.session,
            tenant_id=self.tenant.id,
            repo=repo,
            branch=branch,
            default_branch=default_branch,
        )
        if not agents:
            return self.answer("no_match", f"no agent's config.source is {repo} at {branch}")
        actor = system_principal(self.tenant.id, ACTOR)
        deployed: list[Deployed] = []
        skipped: list[Skipped] = []
        rows: list[Deployment] = []
        for agent in agents:
            agent_id = agent.id
            try:
                async with self.session.begin_nested():
                    row = await create_deployment(
                        self.session,
                        actor=actor,
                        agent_id=agent_id,
                        data=DeploymentCreate.model_validate(data),
                        driver=self.driver,
                        default_deadline=self.default_deadline,
                        triggered_by=trigger,
                        author=author,
                    )
            except (DomainError, ValidationError) as exc:
                skipped.append(Skipped(agent_id=agent_id, reason=str(exc)[:500]))
                continue
            deployed.append(Deployed(agent_id=agent_id, deployment_id=row.id, version=row.version))
            rows.append(row)
        result = WebhookResult(
            status="deployed" if deployed else "ignored",
            detail=f"{len(deployed)} deployed, {len(skipped)} skipped",
            deployments=deployed,
            skipped=skipped,
            event=self.event,
            delivery=self.delivery,
        )
        return result, rows


async def handle(
    session: AsyncSession,
    *,
    tenant: Tenant,
    event: str,
    delivery: str,
    payload: Any,
    driver: Driver,
    default_deadline: float,
) -> Answer:
    """Act on one verified, new delivery."""
    hook = _Delivery(session, tenant, event, delivery, driver, default_deadline)
    if event == "ping":
        return hook.answer("ok", "pong")
    try:
        if event == "push":
            return await _push(hook, PushEvent.model_validate(payload))
        if event == "release":
            return await _release(hook, ReleaseEvent.model_validate(payload))
    except ValidationError as exc:
        raise Malformed(
            f"the {event} payload lacks fields agentdeck needs: {exc.errors()[0]['msg']}",
            kind="invalid-payload",
        ) from exc
    return hook.answer("ignored", f"{event} events deploy nothing")


async def _push(hook: _Delivery, push: PushEvent) -> Answer:
    if not push.ref.startswith("refs/heads/"):
        return hook.answer("ignored", f"{push.ref} is not a branch")
    if push.deleted or push.head_commit is None:
        return hook.answer("ignored", "a deleted branch")
    branch = push.ref.removeprefix("refs/heads/")
    repo = push.repository.full_name
    commit = push.head_commit
    sha = commit.id.lower()
    author = (
        (commit.author.username or commit.author.name if commit.author else None)
        or (push.pusher.name if push.pusher else None)
        or (push.sender.login if push.sender else None)
    )
    message = commit.message.splitlines()[0] if commit.message else ""
    return await hook.deploy(
        repo=repo,
        branch=branch,
        default_branch=push.repository.default_branch or "main",
        data={
            "version": sha[:12],
            "commit_sha": sha if _SHA.match(sha) else None,
            "description": f"push to {repo}@{branch} by {author or 'unknown'}: {message}"[:2000],
        },
        trigger=TriggeredBy(
            kind="github", id=hook.delivery, name=f"GitHub push to {repo}@{branch}"
        ),
        author=author,
    )


async def _release(hook: _Delivery, release: ReleaseEvent) -> Answer:
    if release.action != "published":
        return hook.answer("ignored", f"release {release.action} deploys nothing (only published)")
    repo = release.repository.full_name
    default_branch = release.repository.default_branch or "main"
    target = release.release.target_commitish or default_branch
    tag = release.release.tag_name
    author = (release.release.author.login if release.release.author else None) or (
        release.sender.login if release.sender else None
    )
    return await hook.deploy(
        repo=repo,
        branch=default_branch if _SHA.match(target) else target,
        default_branch=default_branch,
        data={
            "version": tag,
            "commit_sha": target if _SHA.match(target) else None,
            "description": f"release {tag} of {repo} by {author or 'unknown'}"[:2000],
        },
        trigger=TriggeredBy(
            kind="github", id=hook.delivery, name=f"GitHub release {tag} of {repo}"
        ),
        author=author,
    )
