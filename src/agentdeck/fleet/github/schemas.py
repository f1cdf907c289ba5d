"""GitHub webhook wire models (only the payload fields agentdeck reads are modelled)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Repository(_Lenient):
    full_name: str = Field(max_length=300)
    default_branch: str | None = None


class CommitAuthor(_Lenient):
    name: str | None = None
    username: str | None = None


class HeadCommit(_Lenient):
    id: str
    message: str = ""
    author: CommitAuthor | None = None


class Account(_Lenient):
    login: str | None = None
    name: str | None = None


class PushEvent(_Lenient):
    ref: str
    after: str = ""
    deleted: bool = False
    repository: Repository
    head_commit: HeadCommit | None = None
    pusher: Account | None = None
    sender: Account | None = None


class Release(_Lenient):
    tag_name: str = Field(min_length=1, max_length=64)
    target_commitish: str | None = None
    name: str | None = None
    author: Account | None = None


class ReleaseEvent(_Lenient):
    action: str
    release: Release
    repository: Repository
    sender: Account | None = None


class Deployed(BaseModel):
    agent_id: uuid.UUID
    deployment_id: uuid.UUID
    version: str


class Skipped(BaseModel):
    agent_id: uuid.UUID
    reason: str


class WebhookResult(BaseModel):
    """What agentdeck did with a delivery."""

    status: Literal["ok", "deployed", "no_match", "ignored", "duplicate"] = Field(
        description="ok (a ping), deployed (at least one agent), no_match (no agent's "
        "config.source names this repository and branch), ignored (an event or action that "
        "deploys nothing), duplicate (this X-GitHub-Delivery was handled before: nothing done)."
    )
    event: str
    delivery: str
    detail: str = ""
    deployments: list[Deployed] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)


class GitHubSecretStatus(BaseModel):
    """Whether the tenant's webhook secret is set (never the secret itself)."""

    configured: bool
    webhook_path: str = Field(description="Where GitHub posts: the payload URL's path.")
    rotated_at: datetime | None = None
    rotated_by: str | None = None
    previous_valid_until: datetime | None = Field(
        None, description="Until when the secret replaced by the last rotation still verifies."
    )


class GitHubSecretCreated(GitHubSecretStatus):
    """The new secret: shown this once; paste it into the webhook's settings on GitHub."""

    secret: str
