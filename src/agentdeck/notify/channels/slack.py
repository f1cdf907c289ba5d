"""Slack incoming webhook: a fallback ``text``, a Block Kit header, and one attachment coloured by
severity (green once resolved) holding the rest of the blocks (one section per alert, context, a
button to the alert)."""

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
    meta,
    severity_of,
    summary_of,
    title_of,
    url_of,
    webhook_kind,
)
from agentdeck.notify.channels.urls import HttpUrl

MAX_ALERT_BLOCKS = 10
EMOJI = {"firing": ":rotating_light:", "resolved": ":white_check_mark:", "test": ":wave:"}
#: the attachment's colour bar (Slack's ``attachments[].color``) by severity; resolved is green
COLORS = {"critical": "#E01E5A", "error": "#E8590C", "warning": "#ECB22E", "info": "#36C5F0"}
RESOLVED_COLOR = "#2EB67D"


class SlackConfig(KindConfig):
    channel: str | None = Field(
        None, max_length=200, description="Override the webhook's channel (legacy webhooks)."
    )
    username: str | None = Field(None, max_length=80, description="Override the bot name.")


class SlackSecrets(KindSecrets):
    webhook_url: HttpUrl = Field(description="The incoming webhook URL (it is a credential).")


def color_of(message: dict[str, Any]) -> str:
    return RESOLVED_COLOR if event_of(message) == "resolved" else COLORS[severity_of(message)]


def render(message: dict[str, Any], config: SlackConfig) -> dict[str, Any]:
    title = title_of(message)
    event = event_of(message)
    header = {
        "type": "header",
        "text": {"type": "plain_text", "text": f"{EMOJI.get(event, ':bell:')} {title}"[:150]},
    }
    blocks: list[dict[str, Any]] = []
    alerts = alerts_of(message)
    for alert in alerts[:MAX_ALERT_BLOCKS]:
        text = f"*{alert_name(alert)}*"
        summary = summary_of(alert)
        if summary:
            text += f"\n{summary}"
        labels = label_text(alert.get("labels", {}))
        if labels:
            text += f"\n`{labels}`"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    if len(alerts) > MAX_ALERT_BLOCKS:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"and {len(alerts) - MAX_ALERT_BLOCKS} more"}
                ],
            }
        )
    info = meta(message)
    context = [f"status: {event}"]
    if info.get("tenant"):
        context.append(f"tenant: {info['tenant']}")
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " | ".join(context)}]}
    )
    url = url_of(message)
    if url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in agentdeck"},
                        "url": url,
                    }
                ],
            }
        )
    body: dict[str, Any] = {
        "text": title,
        "blocks": [header],
        "attachments": [{"color": color_of(message), "fallback": title, "blocks": blocks}],
    }
    if config.channel:
        body["channel"] = config.channel
    if config.username:
        body["username"] = config.username
    return body


SPEC = webhook_kind("slack", "Slack", SlackConfig, SlackSecrets, render)
