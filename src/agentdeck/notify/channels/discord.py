"""Discord webhook: one embed per message (title, colour by status, a field per alert)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentdeck.notify.channels.base import (
    KindConfig,
    KindSecrets,
    alert_name,
    alerts_of,
    event_of,
    label_text,
    now_iso,
    summary_of,
    title_of,
    url_of,
    webhook_kind,
)
from agentdeck.notify.channels.urls import HttpUrl

COLORS = {"firing": 0xE01E5A, "resolved": 0x2EB67D, "acknowledged": 0x36C5F0}
MAX_FIELDS = 25


class DiscordConfig(KindConfig):
    username: str | None = Field(None, max_length=80, description="Override the webhook's name.")


class DiscordSecrets(KindSecrets):
    webhook_url: HttpUrl = Field(description="The channel webhook URL (it is a credential).")


def render(message: dict[str, Any], config: DiscordConfig) -> dict[str, Any]:
    alerts = alerts_of(message)
    fields = []
    for alert in alerts[:MAX_FIELDS]:
        value = summary_of(alert) or label_text(alert.get("labels", {})) or "-"
        fields.append({"name": alert_name(alert)[:256], "value": value[:1024], "inline": False})
    embed: dict[str, Any] = {
        "title": title_of(message)[:256],
        "color": COLORS.get(event_of(message), 0xECB22E),
        "fields": fields,
        "timestamp": now_iso(),
    }
    if len(alerts) > MAX_FIELDS:
        embed["description"] = f"{len(alerts)} alerts; the first {MAX_FIELDS} are listed"
    url = url_of(message)
    if url:
        embed["url"] = url
    body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    if config.username:
        body["username"] = config.username
    return body


SPEC = webhook_kind("discord", "Discord", DiscordConfig, DiscordSecrets, render)
