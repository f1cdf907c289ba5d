"""Microsoft Teams: a Workflows (Power Automate) or incoming webhook receiving a message with
one Adaptive Card attachment."""

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
    summary_of,
    title_of,
    url_of,
    webhook_kind,
)
from agentdeck.notify.channels.urls import HttpUrl

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
COLORS = {"firing": "Attention", "resolved": "Good", "acknowledged": "Accent"}


class TeamsConfig(KindConfig):
    pass


class TeamsSecrets(KindSecrets):
    webhook_url: HttpUrl = Field(description="The workflow's or connector's webhook URL.")


def render(message: dict[str, Any]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": title_of(message),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": COLORS.get(event_of(message), "Warning"),
        }
    ]
    for alert in alerts_of(message)[:10]:
        facts = [{"title": "alert", "value": alert_name(alert)}]
        summary = summary_of(alert)
        if summary:
            facts.append({"title": "summary", "value": summary})
        labels = label_text(alert.get("labels", {}))
        if labels:
            facts.append({"title": "labels", "value": labels})
        body.append({"type": "FactSet", "facts": facts, "separator": True})
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    url = url_of(message)
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in agentdeck", "url": url}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


SPEC = webhook_kind(
    "teams", "Microsoft Teams", TeamsConfig, TeamsSecrets, lambda message, _: render(message)
)
