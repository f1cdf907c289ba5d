"""ntfy: JSON publish to the server root ({topic, title, message, priority, tags, click}),
priority from the severity, optional access token."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentdeck.notify.channels.base import (
    ChannelKindSpec,
    KindConfig,
    KindSecrets,
    SendContext,
    SendResult,
    event_of,
    lines_of,
    post_json,
    severity_of,
    title_of,
    url_of,
)
from agentdeck.notify.channels.urls import HttpUrl

SERVER_URL = "https://ntfy.sh"
#: ntfy priorities: 1 min, 2 low, 3 default, 4 high, 5 max (urgent)
PRIORITY = {"info": 2, "warning": 3, "error": 4, "critical": 5}
TAGS = {"firing": "rotating_light", "resolved": "white_check_mark", "acknowledged": "eyes"}


class NtfyConfig(KindConfig):
    server_url: HttpUrl = Field(SERVER_URL, description="The ntfy server.")
    topic: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class NtfySecrets(KindSecrets):
    token: str | None = Field(None, max_length=200, description="Access token (Bearer).")


def render(message: dict[str, Any], config: NtfyConfig) -> dict[str, Any]:
    event = event_of(message)
    body: dict[str, Any] = {
        "topic": config.topic,
        "title": title_of(message),
        "message": "\n".join(lines_of(message)) or title_of(message),
        "priority": 2 if event == "resolved" else PRIORITY[severity_of(message)],
        "tags": [TAGS.get(event, "bell")],
    }
    url = url_of(message)
    if url:
        body["click"] = url
    return body


async def send(
    ctx: SendContext, message: dict[str, Any], config: NtfyConfig, secrets: NtfySecrets
) -> SendResult:
    headers = {"Authorization": f"Bearer {secrets.token}"} if secrets.token else None
    return await post_json(
        ctx, config.server_url.rstrip("/") + "/", render(message, config), headers=headers
    )


SPEC = ChannelKindSpec("ntfy", "ntfy", NtfyConfig, NtfySecrets, send)
