"""Telegram Bot API: ``sendMessage`` to a chat, HTML formatted."""

from __future__ import annotations

import html
from typing import Any

from pydantic import Field

from agentdeck.notify.channels.base import (
    ChannelKindSpec,
    KindConfig,
    KindSecrets,
    SendContext,
    SendResult,
    lines_of,
    post_json,
    title_of,
    url_of,
)
from agentdeck.notify.channels.urls import HttpUrl

API_BASE_URL = "https://api.telegram.org"
MAX_TEXT = 4096


class TelegramConfig(KindConfig):
    chat_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^(-?\d+|@[A-Za-z0-9_]{5,})$",
        description="Numeric chat id, or @channelusername.",
    )
    api_base_url: HttpUrl = Field(API_BASE_URL, description="Bot API server (for tests/proxies).")
    disable_notification: bool = Field(False, description="Deliver silently.")


class TelegramSecrets(KindSecrets):
    bot_token: str = Field(
        min_length=10,
        max_length=100,
        pattern=r"^\d+:[A-Za-z0-9_-]+$",
        description="From BotFather.",
    )


def render(message: dict[str, Any], config: TelegramConfig) -> dict[str, Any]:
    parts = [f"<b>{html.escape(title_of(message))}</b>"]
    parts += [html.escape(line) for line in lines_of(message)]
    url = url_of(message)
    if url:
        parts.append(f'<a href="{html.escape(url, quote=True)}">Open in agentdeck</a>')
    return {
        "chat_id": config.chat_id,
        "text": "\n".join(parts)[:MAX_TEXT],
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
        "disable_notification": config.disable_notification,
    }


async def send(
    ctx: SendContext, message: dict[str, Any], config: TelegramConfig, secrets: TelegramSecrets
) -> SendResult:
    url = f"{config.api_base_url.rstrip('/')}/bot{secrets.bot_token}/sendMessage"
    result = await post_json(ctx, url, render(message, config))
    if result.error and secrets.bot_token in result.error:  # never log the token
        result = SendResult(
            ok=result.ok,
            status_code=result.status_code,
            error=result.error.replace(secrets.bot_token, "[redacted]"),
            retry_after=result.retry_after,
            permanent=result.permanent,
        )
    return result


SPEC = ChannelKindSpec("telegram", "Telegram", TelegramConfig, TelegramSecrets, send)
