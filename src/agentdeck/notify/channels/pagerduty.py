"""PagerDuty Events API v2: ``trigger`` for firing (and escalation, test), ``acknowledge`` and
``resolve`` for the others, all with the same ``dedup_key`` (the alert group's key), so PagerDuty
keeps one incident per alert group."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field

from agentdeck.notify.channels.base import (
    ChannelKindSpec,
    KindConfig,
    KindSecrets,
    SendContext,
    SendResult,
    alerts_of,
    event_of,
    meta,
    now_iso,
    post_json,
    severity_of,
    title_of,
    url_of,
)
from agentdeck.notify.channels.urls import HttpUrl

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
ACTIONS = {"acknowledged": "acknowledge", "resolved": "resolve"}
MAX_DEDUP_KEY = 255


class PagerDutyConfig(KindConfig):
    events_url: HttpUrl = Field(EVENTS_URL, description="The Events API v2 enqueue URL.")
    source: str = Field("agentdeck", min_length=1, max_length=255)
    component: str | None = Field(None, max_length=255)


class PagerDutySecrets(KindSecrets):
    routing_key: str = Field(
        min_length=1, max_length=64, description="The integration's routing (integration) key."
    )


def dedup_key_of(ctx: SendContext, message: dict[str, Any]) -> str:
    key = ctx.group_key or str(message.get("groupKey") or "") or ctx.dedup_key
    if len(key) > MAX_DEDUP_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def render(ctx: SendContext, message: dict[str, Any], config: PagerDutyConfig, key: str) -> Any:
    action = ACTIONS.get(event_of(message), "trigger")
    body: dict[str, Any] = {"routing_key": key, "event_action": action}
    body["dedup_key"] = dedup_key_of(ctx, message)
    if action != "trigger":
        return body
    alerts = alerts_of(message)
    details: dict[str, Any] = {
        "firing": len([a for a in alerts if a.get("status") != "resolved"]),
        "alerts": [
            {"labels": a.get("labels", {}), "annotations": a.get("annotations", {})}
            for a in alerts[:20]
        ],
        "escalation_level": meta(message).get("escalation_level"),
    }
    payload: dict[str, Any] = {
        "summary": title_of(message)[:1024],
        "source": config.source,
        "severity": severity_of(message),
        "timestamp": (alerts[0].get("startsAt") if alerts else None) or now_iso(),
        "custom_details": details,
    }
    if config.component:
        payload["component"] = config.component
    group = message.get("commonLabels", {}).get("agent")
    if group:
        payload["group"] = group
    body["payload"] = payload
    body["client"] = "agentdeck"
    url = url_of(message)
    if url:
        body["client_url"] = url
        body["links"] = [{"href": url, "text": "Open in agentdeck"}]
    return body


async def send(
    ctx: SendContext, message: dict[str, Any], config: PagerDutyConfig, secrets: PagerDutySecrets
) -> SendResult:
    return await post_json(
        ctx, config.events_url, render(ctx, message, config, secrets.routing_key)
    )


SPEC = ChannelKindSpec("pagerduty", "PagerDuty", PagerDutyConfig, PagerDutySecrets, send)
