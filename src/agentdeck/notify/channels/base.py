"""What every channel kind provides, and helpers to render the channel-neutral message.

The outbox ``payload`` is an Alertmanager webhook v4 document plus an ``agentdeck`` block
({event, alert_ids, severity, escalation_level, tenant, url}); each kind renders it for its
service. A send returns a :class:`SendResult`; it never raises for a delivery failure.

HTTP goes through one shared ``aiohttp.ClientSession`` per worker: with tens of concurrent
deliveries its connection pool costs a fraction of httpx's (measured in ``bench/notify.py``:
~8,000 vs ~200 POSTs/s at 64 in flight against the same local receiver). Its connector resolves
through the outbound policy (``agentdeck.outbound``), :func:`post_bytes` checks what the
resolver does not see (literal addresses), and no redirect is followed.

A failure's ``error`` is a category anyone reading the delivery log may see; ``detail`` adds
the cause for admins, with at most a short escaped excerpt of the service's answer.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from pydantic import BaseModel, ConfigDict

from agentdeck.notify.channels.routes import DIRECT, Routes
from agentdeck.outbound import OutboundPolicy, OutboundRefused, check_url, excerpt
from agentdeck.outbound import describe as describe_failure

SEVERITY_ORDER = ("info", "warning", "error", "critical")
MAX_ERROR = 500


class KindConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KindSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    #: seconds the service asked us to wait (429 / Retry-After)
    retry_after: float | None = None
    #: the service rejected the message itself (4xx): retrying will not help
    permanent: bool = False
    #: the cause of ``error``, for admins
    detail: str | None = None


@dataclass(slots=True)
class SendContext:
    http: aiohttp.ClientSession
    timeout: float
    channel_name: str
    dedup_key: str
    event: str
    group_key: str | None = None
    policy: OutboundPolicy = OutboundPolicy()
    #: the sender's remembered routes (policy checks and proxies); none: checked per request
    routes: Routes | None = None


SendFn = Callable[[SendContext, dict[str, Any], Any, Any], Awaitable[SendResult]]


@dataclass(frozen=True, slots=True)
class ChannelKindSpec:
    kind: str
    title: str
    config_model: type[KindConfig]
    secrets_model: type[KindSecrets]
    send: SendFn


def _retry_after(headers: CIMultiDictProxy[str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def result_of(
    code: int, headers: CIMultiDictProxy[str], content: bytes, ok_codes: tuple[int, ...] = ()
) -> SendResult:
    """2xx (or one of ``ok_codes``) is delivered; 408/429/5xx are retried; other 4xx are
    permanent."""
    if 200 <= code < 300 or code in ok_codes:
        return SendResult(ok=True, status_code=code)
    error = f"HTTP {code}"
    retryable = code in (408, 425, 429) or code >= 500
    return SendResult(
        ok=False,
        status_code=code,
        error=error,
        detail=f"{error}: {excerpt(content)}" if content else error,
        retry_after=_retry_after(headers) if retryable else None,
        permanent=not retryable,
    )


async def post_json(
    ctx: SendContext,
    url: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (),
) -> SendResult:
    return await post_bytes(ctx, url, orjson.dumps(body), headers=headers, ok_codes=ok_codes)


def webhook_kind(
    kind: str,
    title: str,
    config_model: type[KindConfig],
    secrets_model: type[KindSecrets],
    render: Callable[[dict[str, Any], Any], Any],
) -> ChannelKindSpec:
    """A kind whose send posts ``render(message, config)`` as JSON to its secret
    ``webhook_url`` (Slack, Discord, Teams)."""

    async def send(
        ctx: SendContext, message: dict[str, Any], config: Any, secrets: Any
    ) -> SendResult:
        return await post_json(ctx, secrets.webhook_url, render(message, config))

    return ChannelKindSpec(kind, title, config_model, secrets_model, send)


async def post_bytes(
    ctx: SendContext,
    url: str,
    content: bytes,
    *,
    headers: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (),
) -> SendResult:
    """POST ``content`` (JSON unless the headers say otherwise); transport errors are retried."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    try:
        if ctx.routes is None:
            check_url(ctx.policy, url)
            route = DIRECT
        else:
            route = ctx.routes.route(url)
        async with ctx.http.post(
            url,
            data=content,
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=ctx.timeout),
            allow_redirects=False,
            proxy=route.proxy,
            proxy_auth=route.proxy_auth,
        ) as response:
            body = await response.read()
    except OutboundRefused as exc:
        return refused(exc)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return failed(exc)
    return result_of(response.status, response.headers, body, ok_codes)


def refused(exc: OutboundRefused) -> SendResult:
    """The policy refused the destination: permanent (an admin may retry once allowed)."""
    return SendResult(ok=False, error=exc.summary, detail=str(exc), permanent=True)


def failed(exc: BaseException) -> SendResult:
    """A transport failure (retried): its category, and the cause for admins."""
    failure = describe_failure(exc)
    return SendResult(ok=False, error=failure.summary, detail=failure.detail)


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR]


# --- rendering helpers --------------------------------------------------------------------


def meta(message: dict[str, Any]) -> dict[str, Any]:
    block = message.get("agentdeck")
    return block if isinstance(block, dict) else {}


def event_of(message: dict[str, Any]) -> str:
    return str(meta(message).get("event") or message.get("status") or "firing")


def severity_of(message: dict[str, Any]) -> str:
    severity = meta(message).get("severity") or message.get("commonLabels", {}).get("severity")
    return str(severity) if severity in SEVERITY_ORDER else "warning"


def alerts_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    alerts = message.get("alerts")
    return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []


def alert_name(alert: dict[str, Any]) -> str:
    return str(alert.get("labels", {}).get("alertname", "alert"))


def title_of(message: dict[str, Any]) -> str:
    """One line: ``[FIRING:2] HighErrorRate (critical)``."""
    event = event_of(message)
    alerts = alerts_of(message)
    name = message.get("commonLabels", {}).get("alertname") or (
        alert_name(alerts[0]) if alerts else "agentdeck"
    )
    if event == "test":
        return "agentdeck test notification"
    return f"[{event.upper()}:{len(alerts)}] {name} ({severity_of(message)})"


def summary_of(alert: dict[str, Any]) -> str:
    annotations = alert.get("annotations", {})
    text = annotations.get("summary") or annotations.get("description") or ""
    return str(text)


def label_text(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")


def lines_of(message: dict[str, Any], limit: int = 10) -> list[str]:
    """A short line per alert (at most ``limit``, then "and N more")."""
    alerts = alerts_of(message)
    out = []
    for alert in alerts[:limit]:
        parts = [alert_name(alert)]
        summary = summary_of(alert)
        if summary:
            parts.append(summary)
        labels = label_text(alert.get("labels", {}))
        if labels:
            parts.append(f"({labels})")
        out.append(" - ".join(parts[:2]) + (" " + parts[2] if len(parts) > 2 else ""))
    if len(alerts) > limit:
        out.append(f"and {len(alerts) - limit} more")
    return out


def url_of(message: dict[str, Any]) -> str | None:
    url = meta(message).get("url") or message.get("externalURL")
    return str(url) if url else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
