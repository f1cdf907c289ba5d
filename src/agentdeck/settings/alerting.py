"""Alerting (evaluation, lifecycle, dispatch) and notification delivery."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode


class AlertingSettings(BaseModel):
    """Alerting: rule evaluation, the alert lifecycle, routing and the notification dispatcher."""

    evaluator_tick_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the evaluator looks for rules that are due."
    )
    evaluation_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest one rule's query may run before it errors."
    )
    evaluation_concurrency: int = Field(
        8, ge=1, le=256, description="Rules evaluated at once by one evaluator."
    )
    manual_resolve_grace_seconds: float = Field(
        300.0,
        ge=0,
        description="After a manual resolve, a condition still true this long re-fires as a "
        "new alert.",
    )
    external_resolve_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="An alert pushed through /api/v2/alerts without endsAt resolves when not "
        "re-sent for this long (Alertmanager's resolve_timeout).",
    )

    dispatch_interval_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often the dispatcher routes alerts into groups and the outbox.",
    )
    external_url: str = Field(
        "",
        max_length=2048,
        description="Public base URL of this server, for links to alerts in notifications.",
    )


class NotifySettings(BaseModel):
    """Notification delivery: the outbox worker, retries, rate limits and secret encryption."""

    worker_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the delivery worker looks for due notifications."
    )
    batch_size: int = Field(200, ge=1, le=5000, description="Outbox rows claimed per round.")
    concurrency: int = Field(64, ge=1, le=1000, description="Sends in flight per replica.")
    channel_concurrency: int = Field(
        8,
        ge=1,
        le=1000,
        description="Sends in flight to one channel per replica (at most `concurrency`): a slow "
        "or failing channel holds only these, so it delays no other channel.",
    )
    timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of one send (HTTP request or SMTP session)."
    )
    claim_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a claimed row stays locked to one replica; longer than the timeout.",
    )
    max_attempts: int = Field(
        8,
        ge=1,
        le=100,
        description="Attempts before a notification is dead-lettered (once `retry_window_seconds` "
        "has passed too).",
    )
    retry_window_seconds: float = Field(
        3600.0,
        ge=0,
        description="A notification that keeps failing is retried for at least this long after "
        "it was queued, beyond `max_attempts` if need be, before it is dead-lettered: a receiver "
        "that is down for less gets it once it is back (within `backoff_max_seconds`).",
    )
    shutdown_grace_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description="On shutdown, how long sends in flight may finish; the rest are put back in "
        "the queue (not counted as attempts) for the next worker.",
    )
    backoff_base_seconds: float = Field(
        5.0, gt=0, description="First retry delay cap; doubles per attempt (full jitter)."
    )
    backoff_max_seconds: float = Field(
        900.0, gt=0, description="Largest retry delay cap (seconds)."
    )
    default_rate_per_minute: int = Field(
        120, ge=1, description="Deliveries per minute to one channel unless the channel says."
    )
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Former secret keys, still accepted to decrypt channel secrets while the "
        "key is rotated (`agentdeck secrets rotate` re-encrypts them under the current one); "
        "a JSON list also works.",
    )

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _keys_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _claim_outlives_send(self) -> NotifySettings:
        if self.claim_seconds <= self.timeout_seconds:
            raise ValueError("claim_seconds must be longer than timeout_seconds")
        return self
