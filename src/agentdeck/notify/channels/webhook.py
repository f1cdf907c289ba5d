"""Generic webhook: the Alertmanager webhook v4 JSON as-is, so any existing receiver works.

With a signing secret the request carries ``X-Agentdeck-Timestamp: <unix seconds>`` and
``X-Agentdeck-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from pydantic import Field

from agentdeck.notify.channels.base import (
    ChannelKindSpec,
    KindConfig,
    KindSecrets,
    SendContext,
    SendResult,
    post_bytes,
)
from agentdeck.notify.channels.urls import HttpUrl

SIGNATURE_HEADER = "X-Agentdeck-Signature"
TIMESTAMP_HEADER = "X-Agentdeck-Timestamp"


class WebhookConfig(KindConfig):
    url: HttpUrl = Field(description="Where to POST the Alertmanager webhook v4 JSON.")


class WebhookSecrets(KindSecrets):
    signing_secret: str | None = Field(
        None, min_length=8, max_length=512, description="HMAC-SHA256 key of the signature header."
    )
    authorization: str | None = Field(
        None, max_length=2048, description="Sent as the Authorization header, e.g. 'Bearer ...'."
    )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


async def send(
    ctx: SendContext, message: dict[str, Any], config: WebhookConfig, secrets: WebhookSecrets
) -> SendResult:
    body = orjson.dumps(message)
    headers = {
        "X-Agentdeck-Event": ctx.event,
        "X-Agentdeck-Dedup-Key": ctx.dedup_key,
    }
    if secrets.signing_secret:
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(secrets.signing_secret, timestamp, body)
    if secrets.authorization:
        headers["Authorization"] = secrets.authorization
    return await post_bytes(ctx, config.url, body, headers=headers)


SPEC = ChannelKindSpec("webhook", "Webhook", WebhookConfig, WebhookSecrets, send)
