"""Scrape target wire models: what clients send (create, update) and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agentdeck.outbound import OutboundPolicy, split_http_url
from agentdeck.scrape.models import ScrapeHealth, ScrapeTarget
from agentdeck.tsdb.names import is_valid_label_name

MAX_TARGET_LABELS = 30
MAX_URL_LENGTH = 2048
MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 3600.0
#: Labels the scraper sets itself on every sample of a target.
RESERVED_LABELS = frozenset({"job", "instance", "agent"})


def _check_url(url: str) -> str:
    parts = split_http_url(url)
    if parts.username or parts.password:
        raise ValueError("credentials in the URL are not supported")
    refused = OutboundPolicy().refuses_always(parts.hostname or "")
    if refused is not None:
        raise ValueError(f"the URL's host is never reached: {refused.summary}")
    return url


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > MAX_TARGET_LABELS:
        raise ValueError(f"at most {MAX_TARGET_LABELS} labels are allowed; got {len(labels)}")
    for name, value in labels.items():
        if not is_valid_label_name(name):
            raise ValueError(
                f"label name {name!r} must match [a-zA-Z_][a-zA-Z0-9_]* and not start with '__'"
            )
        if name in RESERVED_LABELS:
            raise ValueError(f"label {name!r} is set by the scraper; use the field instead")
        if len(value.encode()) > 1024:
            raise ValueError(f"value of label {name!r} is longer than 1024 bytes")
    return labels


Url = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_check_url)]
Job = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
Interval = Annotated[float, Field(ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS)]
Timeout = Annotated[float, Field(gt=0, le=MAX_INTERVAL_SECONDS)]
Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]


class ScrapeTargetCreate(BaseModel):
    """A Prometheus text / OpenMetrics endpoint to collect from."""

    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="http(s) URL of the metrics endpoint.")
    job: Job = Field("agentdeck", description="The `job` label of every scraped sample.")
    agent_id: uuid.UUID | None = Field(
        None, description="An agent of your tenant; its name becomes the `agent` label."
    )
    interval_seconds: Interval = Field(15.0, description="Seconds between scrapes (1-3600).")
    timeout_seconds: Timeout = Field(
        10.0, description="Seconds a scrape may take; at most the interval."
    )
    labels: Labels = Field(default_factory=dict, description="Added to every scraped sample.")
    enabled: bool = True


class ScrapeTargetUpdate(BaseModel):
    """Fields to change; those left out stay as they are. `labels` replaces the whole set."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    job: Job | None = None
    agent_id: uuid.UUID | None = Field(None, description="Send null to unlink the agent.")
    interval_seconds: Interval | None = None
    timeout_seconds: Timeout | None = None
    labels: Labels | None = None
    enabled: bool | None = None


class ScrapeTargetPublic(BaseModel):
    id: uuid.UUID
    url: str
    job: str
    agent_id: uuid.UUID | None
    interval_seconds: float
    timeout_seconds: float
    labels: dict[str, str]
    enabled: bool
    health: ScrapeHealth = Field(description="up, down, or unknown before the first scrape.")
    last_scrape_at: datetime | None
    last_duration_ms: float | None
    last_error: str | None = Field(
        description="Why the last scrape failed, as a category (timed out, connection failed, "
        "blocked by outbound policy: ..., HTTP status)."
    )
    last_error_detail: str | None = Field(
        None,
        description="Admins only: the cause of `last_error` (address, errno, at most 200 "
        "escaped characters of the answer); null for other roles.",
    )
    last_samples: int | None = Field(description="Samples the last scrape returned.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, target: ScrapeTarget, *, admin: bool = False) -> ScrapeTargetPublic:
        data: dict[str, Any] = {name: getattr(target, name) for name in cls.model_fields}
        if not admin:
            data["last_error_detail"] = None
        return cls.model_validate(data)
