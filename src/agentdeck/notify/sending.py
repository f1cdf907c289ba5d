"""Sending one claimed notification through its channel and judging the result: the delivery
worker's (:mod:`agentdeck.notify.worker`) per-row step, with the HTTP client it shares.

A failed attempt is retried after a full-jitter exponential backoff (``uniform(0, min(max,
base * 2**(attempt-1)))``, at least what a ``Retry-After`` asked for); a rejection (4xx other than
408/425/429) dead-letters the row, and so does the last allowed attempt once
``notify.retry_window_seconds`` have passed since the row was queued (a receiver that is down for
less than the window gets the notification once it is back).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import structlog
from pydantic import ValidationError

from agentdeck import __version__
from agentdeck.db.base import utcnow
from agentdeck.notify.channels import spec
from agentdeck.notify.channels.base import (
    ChannelKindSpec,
    KindConfig,
    KindSecrets,
    SendContext,
    SendResult,
    describe,
)
from agentdeck.notify.channels.routes import Routes
from agentdeck.notify.channels.urls import unpack
from agentdeck.notify.crypto import SecretBox
from agentdeck.notify.models import NotificationChannel, NotificationOutbox, OutboxStatus
from agentdeck.notify.recorder import DeliveryMetrics, Outcome
from agentdeck.outbound import OutboundPolicy, connector
from agentdeck.settings import NotifySettings, Settings

log = structlog.get_logger(__name__)

#: channels whose validated settings are remembered (forgotten all at once beyond this)
KNOWN_CHANNELS = 1024
#: a channel's validated config and secrets
Validated = tuple[KindConfig, KindSecrets]


def backoff_seconds(
    attempt: int, settings: NotifySettings, rng: random.Random, retry_after: float | None = None
) -> float:
    """Full jitter: uniform(0, min(max, base * 2**(attempt-1))), at least ``retry_after``."""
    cap = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
    delay = rng.uniform(0.0, cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_max_seconds))
    return delay


class Sender:
    """Sends rows to their channels (decrypting and validating each channel version's
    settings once) and turns the results into outcomes."""

    def __init__(
        self,
        settings: Settings,
        *,
        rng: random.Random,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self.config = settings.notify
        self.box = SecretBox.from_settings(settings)
        self.policy = OutboundPolicy.from_settings(settings.outbound)
        self.routes = Routes(self.policy)
        self.rng = rng
        self.metrics = metrics
        self._http: aiohttp.ClientSession | None = None
        #: channel → (its version, its validated config and secrets)
        self._settings: dict[uuid.UUID, tuple[tuple[int, str | None, Any], Validated]] = {}

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            n = self.config.concurrency
            self._http = aiohttp.ClientSession(
                connector=connector(self.policy, limit=n),
                headers={"User-Agent": f"agentdeck/{__version__}"},
                # HTTP(S)_PROXY / NO_PROXY are read once, by ``self.routes``: trust_env would
                # read them (and ~/.netrc) on worker threads at every request
                trust_env=False,
            )
        return self._http

    def settings_of(self, channel: NotificationChannel, kind: ChannelKindSpec) -> Validated:
        """The channel's config and secrets, decrypted and validated once per version of the
        channel (its revision, config and encrypted secrets)."""
        found = self._settings.get(channel.id)
        if found is not None and found[0] == (
            channel.revision,
            channel.secrets_encrypted,
            channel.config,
        ):
            return found[1]
        stored, hidden = unpack(self.box.decrypt(channel.secrets_encrypted))
        validated = (
            kind.config_model.model_validate({**channel.config, **hidden}),
            kind.secrets_model.model_validate(stored),
        )
        if len(self._settings) >= KNOWN_CHANNELS:
            self._settings.clear()
        version = (channel.revision, channel.secrets_encrypted, channel.config)
        self._settings[channel.id] = (version, validated)
        return validated

    async def send(self, row: NotificationOutbox, channel: NotificationChannel) -> SendResult:
        kind = spec(channel.kind.value)
        try:
            config, secrets = self.settings_of(channel, kind)
        except ValidationError as exc:  # never the values: they may be secrets
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            error = "channel settings unusable"
            return SendResult(ok=False, error=error, detail=f"{error}: invalid {fields}")
        except Exception as exc:
            error = "channel settings unusable"
            return SendResult(ok=False, error=error, detail=f"{error}: {describe(exc)}")
        ctx = SendContext(
            http=self.http,
            timeout=self.config.timeout_seconds,
            channel_name=channel.name,
            dedup_key=row.dedup_key,
            event=row.event,
            group_key=row.group_key,
            policy=self.policy,
            routes=self.routes,
        )
        gauge = self.metrics.in_flight.labels(kind=kind.kind) if self.metrics else None
        if gauge is not None:
            gauge.inc()
        try:
            return await kind.send(ctx, row.payload, config, secrets)
        except Exception as exc:  # a bug in a renderer must not stop the worker
            log.exception("channel send raised", channel_id=str(channel.id), kind=kind.kind)
            return SendResult(ok=False, error="internal error", detail=describe(exc))
        finally:
            if gauge is not None:
                gauge.dec()

    def outcome(self, row: NotificationOutbox, result: SendResult, latency_ms: float) -> Outcome:
        now = utcnow()
        attempts = row.attempts + 1
        if result.ok:
            return Outcome(
                row, "success", OutboxStatus.delivered, attempts, now,
                result.status_code, None, latency_ms,
            )  # fmt: skip
        if result.permanent or self._gives_up(row, attempts, now):
            return Outcome(
                row, "dead", OutboxStatus.dead, attempts, now,
                result.status_code, result.error, latency_ms, result.detail,
            )  # fmt: skip
        delay = backoff_seconds(attempts, self.config, self.rng, result.retry_after)
        return Outcome(
            row, "failure", OutboxStatus.pending, attempts, now + timedelta(seconds=delay),
            result.status_code, result.error, latency_ms, result.detail,
        )  # fmt: skip

    def _gives_up(self, row: NotificationOutbox, attempts: int, now: datetime) -> bool:
        """After the last allowed attempt (the row's or the settings' limit, whichever is
        lower), once the retry window since it was queued has passed too; a row allowed one
        attempt only (a test send) is never retried."""
        limit = min(row.max_attempts, self.config.max_attempts)
        if attempts < limit:
            return False
        if limit == 1:
            return True
        queued = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return now - queued >= timedelta(seconds=self.config.retry_window_seconds)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
