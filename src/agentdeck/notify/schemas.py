"""Notification channel and delivery wire models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.notify.models import ChannelKind, OutboxStatus

NAME_PATTERN = r"^\S(.*\S)?$"
RatePerMinute = Field(None, ge=1, le=1_000_000, description="Deliveries per minute; null: default.")


class ChannelCreate(BaseModel):
    """A place to send notifications. `config` and `secrets` depend on `kind` (see
    `GET /api/v1/notification-channels/kinds`); secrets are stored encrypted, never returned."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    kind: ChannelKind
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict, description="Write-only.")
    enabled: bool = True
    send_resolved: bool = Field(True, description="Also notify when alerts resolve.")
    rate_limit_per_minute: int | None = RatePerMinute


class ChannelUpdate(BaseModel):
    """Fields to change. `config` keys sent replace those stored (null removes one); `secrets`
    sent replace those stored (null clears one), secrets left out are kept."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    config: dict[str, Any] | None = None
    secrets: dict[str, Any] | None = Field(None, description="Write-only.")
    enabled: bool | None = None
    send_resolved: bool | None = None
    rate_limit_per_minute: int | None = RatePerMinute


class ChannelPublic(BaseModel):
    id: uuid.UUID
    name: str
    kind: ChannelKind
    config: dict[str, Any]
    secrets_set: list[str] = Field(description="Names of the secret fields that have a value.")
    enabled: bool
    send_resolved: bool
    rate_limit_per_minute: int | None
    revision: int
    last_test_at: datetime | None
    last_test_ok: bool | None
    created_at: datetime
    updated_at: datetime


class KindField(BaseModel):
    name: str
    secret: bool
    required: bool
    type: str = Field(description="string, integer, boolean, enum, list")
    default: Any = None
    choices: list[str] | None = None
    description: str | None = None


class ChannelKindPublic(BaseModel):
    kind: ChannelKind
    title: str
    fields: list[KindField]


class ChannelKindList(BaseModel):
    items: list[ChannelKindPublic]


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    outbox_id: uuid.UUID
    channel_id: uuid.UUID
    alert_id: uuid.UUID | None
    attempt: int
    status: str = Field(description="success, failure, dead, rate_limited or skipped.")
    response_code: int | None
    error: str | None = Field(
        description="Why the attempt failed, as a category (HTTP status, timed out, connection "
        "failed, blocked by outbound policy: ...)."
    )
    error_detail: str | None = Field(
        None,
        description="Admins only: the cause of `error` (at most 200 escaped characters of the "
        "service's answer); null for other roles.",
    )
    latency_ms: float | None
    at: datetime
    event: str | None = None
    dedup_key: str | None = None
    outbox_status: OutboxStatus | None = None


class TestResult(BaseModel):
    ok: bool
    delivery: DeliveryPublic | None


class RetryResult(BaseModel):
    outbox_id: uuid.UUID
    status: OutboxStatus
    next_attempt_at: datetime
