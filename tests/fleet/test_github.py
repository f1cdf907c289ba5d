"""GitHub webhooks with real HMAC-SHA256-signed bodies shaped like GitHub's documented payloads:
ping, push, release; a forged signature, a missing one, an unknown tenant, a replayed delivery,
an unmatched repository, a push to another branch; the admin's secret (encrypted at rest)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agentdeck.fleet.github.models import GitHubWebhookSecret
from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from agentdeck.server.state import AppState
from tests.conftest import Caller, Factory
from tests.fleet.conftest import FAST_FLEET, AppFactory
from tests.fleet.helpers import AGENTS

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
REPO = "octo-org/support-bot"


@pytest.fixture
async def client(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(fleet=dict(FAST_FLEET), loops={"enabled": False})


@pytest.fixture
async def admin(factory: Factory, tenant: Tenant) -> Caller:
    return await factory.user(Role.admin, tenant)


async def new_secret(client: httpx.AsyncClient, admin: Caller) -> dict[str, Any]:
    response = await client.put("/api/v1/webhooks/github/secret", headers=admin.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def push_payload(*, ref: str = "refs/heads/main", repo: str = REPO) -> dict[str, Any]:
    """The fields of GitHub's documented push payload (trimmed of the ones not read)."""
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": SHA,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{repo}/compare/000000000000...6dcb09b5b578",
        "commits": [{"id": SHA, "message": "Tune the prompt\n\nLonger text", "distinct": True}],
        "head_commit": {
            "id": SHA,
            "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
            "distinct": True,
            "message": "Tune the prompt\n\nLonger text",
            "timestamp": "2026-12-07T05:00:00Z",
            "author": {"name": "Mona Lisa", "email": "mona@example.com", "username": "monalisa"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [],
            "removed": [],
            "modified": ["prompt.txt"],
        },
        "repository": {
            "id": 1296269,
            "name": repo.split("/")[1],
            "full_name": repo,
            "private": False,
            "default_branch": "main",
            "owner": {"login": repo.split("/")[0], "id": 1},
        },
        "pusher": {"name": "monalisa", "email": "mona@example.com"},
        "sender": {"login": "monalisa", "id": 2},
    }


def release_payload(*, action: str = "published", tag: str = "v1.4.0") -> dict[str, Any]:
    return {
        "action": action,
        "release": {
            "id": 1,
            "tag_name": tag,
            "target_commitish": "main",
            "name": f"Release {tag}",
            "draft": False,
            "prerelease": False,
            "author": {"login": "octocat", "id": 1},
            "published_at": "2026-12-07T05:00:00Z",
        },
        "repository": {"id": 1296269, "full_name": REPO, "default_branch": "main"},
        "sender": {"login": "octocat", "id": 1},
    }


async def deliver(
    client: httpx.AsyncClient,
    slug: str,
    event: str,
    payload: dict[str, Any],
    *,
    secret: str | None,
    delivery: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "User-Agent": "GitHub-Hookshot/abc123",
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    return await client.post(f"/api/v1/webhooks/github/{slug}", content=body, headers=headers)


async def sourced_agent(
    client: httpx.AsyncClient, caller: Caller, *, repo: str = REPO, branch: str | None = "main"
) -> dict[str, Any]:
    source: dict[str, Any] = {"repo": repo}
    if branch is not None:
        source["branch"] = branch
    response = await client.post(
        AGENTS,
        json={
            "name": f"bot-{uuid.uuid4().hex[:6]}",
            "type": "custom",
            "config": {"command": sys.executable, "args": ["-c", "pass"], "source": source},
        },
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def deployments_of(client: httpx.AsyncClient, caller: Caller, agent_id: str) -> list[Any]:
    response = await client.get(f"{AGENTS}/{agent_id}/deployments", headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_ping_answers_ok(client: httpx.AsyncClient, admin: Caller, tenant: Tenant) -> None:
    secret = (await new_secret(client, admin))["secret"]
    response = await deliver(
        client,
        tenant.slug,
        "ping",
        {"zen": "Keep it logically awesome.", "hook_id": 1},
        secret=secret,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_a_push_deploys_the_matching_agents_with_commit_and_author(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    matching = await sourced_agent(client, dev)
    default_branch = await sourced_agent(client, dev, repo=REPO.upper(), branch=None)
    other_branch = await sourced_agent(client, dev, branch="staging")
    other_repo = await sourced_agent(client, dev, repo="octo-org/another")
    response = await deliver(
        client, tenant.slug, "push", push_payload(), secret=secret, delivery="d-push-1"
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "deployed" and result["delivery"] == "d-push-1"
    assert {d["agent_id"] for d in result["deployments"]} == {
        matching["id"],
        default_branch["id"],
    }
    dep = (await deployments_of(client, dev, matching["id"]))[0]
    assert dep["version"] == SHA[:12] and dep["commit_sha"] == SHA
    assert dep["author"] == "monalisa"
    assert dep["triggered_by"] == {
        "kind": "github",
        "id": "d-push-1",
        "name": f"GitHub push to {REPO}@main",
    }
    assert "Tune the prompt" in dep["description"]
    assert await deployments_of(client, dev, other_branch["id"]) == []
    assert await deployments_of(client, dev, other_repo["id"]) == []
    listed = await client.get(
        "/api/v1/deployments", params={"triggered_by": "github"}, headers=dev.headers
    )
    assert len(listed.json()["items"]) == 2


async def test_a_published_release_deploys_its_tag(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    agent = await sourced_agent(client, dev)
    drafted = await deliver(
        client, tenant.slug, "release", release_payload(action="created"), secret=secret
    )
    assert drafted.json()["status"] == "ignored"
    response = await deliver(client, tenant.slug, "release", release_payload(), secret=secret)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "deployed"
    dep = (await deployments_of(client, dev, agent["id"]))[0]
    assert dep["version"] == "v1.4.0" and dep["author"] == "octocat"
    assert dep["triggered_by"]["kind"] == "github" and dep["commit_sha"] is None


async def test_a_forged_or_missing_signature_is_401_alike(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    agent = await sourced_agent(client, dev)
    forged = await deliver(client, tenant.slug, "push", push_payload(), secret="not-the-secret")
    missing = await deliver(client, tenant.slug, "push", push_payload(), secret=None)
    malformed = await deliver(
        client, tenant.slug, "push", push_payload(), secret=None, signature="sha1=abc"
    )
    unknown = await deliver(client, "no-such-tenant", "push", push_payload(), secret=secret)
    # the body signed, then changed: the signature no longer matches
    body = json.dumps(push_payload()).encode()
    good = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    tampered = await client.post(
        f"/api/v1/webhooks/github/{tenant.slug}",
        content=body.replace(b"main", b"prod"),
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "x",
            "X-Hub-Signature-256": good,
        },
    )
    answers = [forged, missing, malformed, unknown, tampered]
    assert {r.status_code for r in answers} == {401}
    shapes = [
        {k: v for k, v in r.json().items() if k not in ("instance", "request_id")} for r in answers
    ]
    assert all(shape == shapes[0] for shape in shapes)
    assert shapes[0]["type"] == "/problems/invalid-signature"
    assert await deployments_of(client, dev, agent["id"]) == []


async def test_a_replayed_delivery_deploys_nothing(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    agent = await sourced_agent(client, dev)
    first = await deliver(
        client, tenant.slug, "push", push_payload(), secret=secret, delivery="same-id"
    )
    assert first.json()["status"] == "deployed"
    replay = await deliver(
        client, tenant.slug, "push", push_payload(), secret=secret, delivery="same-id"
    )
    assert replay.status_code == 200
    assert replay.json() == {
        "status": "duplicate",
        "event": "push",
        "delivery": "same-id",
        "detail": "this delivery was handled before; nothing was done",
        "deployments": [],
        "skipped": [],
    }
    github = [
        d
        for d in await deployments_of(client, dev, agent["id"])
        if d["triggered_by"]["kind"] == "github"
    ]
    assert len(github) == 1


async def test_unmatched_repository_and_other_branch_deploy_nothing(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    agent = await sourced_agent(client, dev)
    unmatched = await deliver(
        client, tenant.slug, "push", push_payload(repo="someone/else"), secret=secret
    )
    assert unmatched.status_code == 200
    assert unmatched.json()["status"] == "no_match"
    other = await deliver(
        client, tenant.slug, "push", push_payload(ref="refs/heads/feature-x"), secret=secret
    )
    assert other.json()["status"] == "no_match"
    tag = await deliver(
        client, tenant.slug, "push", push_payload(ref="refs/tags/v1"), secret=secret
    )
    assert tag.json()["status"] == "ignored"
    issues = await deliver(client, tenant.slug, "issues", {"action": "opened"}, secret=secret)
    assert issues.json()["status"] == "ignored"
    assert await deployments_of(client, dev, agent["id"]) == []


async def test_an_agent_that_cannot_deploy_is_skipped_with_its_reason(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    agent = await sourced_agent(client, dev)
    busy = await client.post(
        f"{AGENTS}/{agent['id']}/deployments", json={"version": "0.9.0"}, headers=dev.headers
    )
    assert busy.status_code == 201
    healthy = await sourced_agent(client, dev)
    response = await deliver(client, tenant.slug, "push", push_payload(), secret=secret)
    result = response.json()
    assert result["status"] == "deployed"
    assert [d["agent_id"] for d in result["deployments"]] == [healthy["id"]]
    assert result["skipped"][0]["agent_id"] == agent["id"]
    assert "deployment" in result["skipped"][0]["reason"]


async def test_a_valid_signature_with_a_broken_body_is_400(
    client: httpx.AsyncClient, admin: Caller, tenant: Tenant
) -> None:
    secret = (await new_secret(client, admin))["secret"]
    response = await deliver(client, tenant.slug, "push", {"ref": 5}, secret=secret)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-payload"


async def test_the_secret_is_shown_once_stored_encrypted_and_rotates(
    client: httpx.AsyncClient, admin: Caller, dev: Caller, tenant: Tenant
) -> None:
    before = await client.get("/api/v1/webhooks/github/secret", headers=admin.headers)
    assert before.json()["configured"] is False
    assert before.json()["webhook_path"] == f"/api/v1/webhooks/github/{tenant.slug}"
    first = await new_secret(client, admin)
    status = await client.get("/api/v1/webhooks/github/secret", headers=admin.headers)
    assert status.json()["configured"] is True and "secret" not in status.json()
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    async with state.sessions() as session:
        row = await session.scalar(select(GitHubWebhookSecret))
        assert row is not None and first["secret"] not in row.secret_encrypted
    second = await new_secret(client, admin)
    assert second["secret"] != first["secret"] and second["previous_valid_until"]
    # both verify during the grace hour
    for secret in (first["secret"], second["secret"]):
        ping = await deliver(client, tenant.slug, "ping", {"zen": "z"}, secret=secret)
        assert ping.status_code == 200
    for caller in (dev,):
        refused = await client.put("/api/v1/webhooks/github/secret", headers=caller.headers)
        assert refused.status_code == 403
    audit = await client.get(
        "/api/v1/audit-log", params={"resource_type": "github_webhook"}, headers=admin.headers
    )
    assert audit.status_code == 200, audit.text
    actions = [e["action"] for e in audit.json()["items"]]
    assert actions == ["github.secret.rotate", "github.secret.create"]
    assert first["secret"] not in audit.text and second["secret"] not in audit.text
