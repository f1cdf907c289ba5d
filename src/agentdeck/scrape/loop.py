"""The scraper: collect Prometheus text / OpenMetrics from scrape targets, like Prometheus does.

One scrape of a target:

1. ``GET`` its URL with Prometheus's ``Accept`` header and a timeout of ``timeout_seconds``,
   through the outbound policy (``agentdeck.outbound``: every connection, each of at most
   ``outbound.max_redirects`` redirects included, goes only to a checked address);
2. parse the body with ``prometheus_client``'s parsers (the OpenMetrics one when the response
   says ``application/openmetrics-text``, the text-format one otherwise);
3. add the target's labels, ``job``, ``instance`` (``host:port``) and ``agent`` (the linked
   agent's name) to every sample; a scraped label with one of those names is kept as
   ``exported_<name>`` (Prometheus's ``honor_labels: false``);
4. write the samples with the scrape's start time (unless they carry their own), plus ``up``
   (1 or 0), ``scrape_duration_seconds`` and ``scrape_samples_scraped``, through the shared
   ingest core, and record health, time, duration, sample count and error on the target row.

:class:`ScrapeLoop` runs as a leased loop: only one replica scrapes. Each tick starts the
scrapes that are due (at most ``concurrency`` at once) as tasks of their own, so a slow target
never delays the others; a target is never scraped twice at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck import __version__
from agentdeck.db.base import utcnow
from agentdeck.ingest.batch import Batch, MetricMeta, Row
from agentdeck.ingest.core import Ingestor
from agentdeck.ingest.models import MetricType
from agentdeck.ingest.series import shown
from agentdeck.loops.base import Loop
from agentdeck.outbound import OutboundPolicy, OutboundRefused, describe, excerpt, http_client
from agentdeck.scrape import service as scrape_service
from agentdeck.scrape.models import ScrapeHealth, ScrapeTarget
from agentdeck.settings import Settings

log = structlog.get_logger(__name__)

ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
#: Largest body read from a target (bytes); a bigger one fails the scrape.
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Most of an error answer's body read (for the admins' excerpt).
EXCERPT_BYTES = 1024
_TYPES = {
    "counter": MetricType.counter,
    "gauge": MetricType.gauge,
    "histogram": MetricType.histogram,
    "gaugehistogram": MetricType.histogram,
    "summary": MetricType.summary,
}
_CREATED_SUFFIX = "_created"


class ScrapeFailed(Exception):
    """The target could not be scraped: the message says why in a way anyone reading the
    target may see (``last_error``); ``detail`` adds the cause for admins
    (``last_error_detail``), with at most a short escaped excerpt of the answer."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """What one scrape needs to know about a target (detached from the database row)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    job: str
    timeout_seconds: float
    labels: dict[str, str]
    agent: str | None = None

    @classmethod
    def of(cls, target: ScrapeTarget, agent_name: str | None) -> TargetSpec:
        return cls(
            id=target.id,
            tenant_id=target.tenant_id,
            url=target.url,
            job=target.job,
            timeout_seconds=target.timeout_seconds,
            labels={str(k): str(v) for k, v in (target.labels or {}).items()},
            agent=agent_name,
        )

    def target_labels(self) -> dict[str, str]:
        """The labels every sample of this target gets (they win over scraped ones)."""
        labels = dict(self.labels)
        labels["job"] = self.job
        labels["instance"] = instance_of(self.url)
        if self.agent:
            labels["agent"] = self.agent
        return labels


@dataclass(slots=True)
class ScrapeOutcome:
    health: ScrapeHealth
    started_at: datetime
    duration_seconds: float
    samples_scraped: int
    error: str | None
    error_detail: str | None = None
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def instance_of(url: str) -> str:
    """``host:port`` of a URL, with the scheme's default port when none is given."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"


def merge_labels(scraped: dict[str, str], target: dict[str, str]) -> dict[str, str]:
    """``honor_labels: false``: target labels win; clashing scraped ones become ``exported_*``."""
    out = dict(scraped)
    for name, value in target.items():
        if name in out and out[name]:
            exported = f"exported_{name}"
            while exported in out:
                exported = f"exported_{exported}"
            out[exported] = out.pop(name)
        out[name] = value
    return out


def _timestamp_ms(value: Any, default_ms: int) -> int:
    if value is None:
        return default_ms
    if hasattr(value, "sec"):  # OpenMetrics Timestamp(sec, nsec)
        return int(value.sec) * 1000 + int(value.nsec) // 1_000_000
    return round(float(value) * 1000)


def parse_exposition(
    body: str, content_type: str, *, target_labels: dict[str, str], default_ms: int
) -> tuple[list[Row], list[MetricMeta]]:
    """Samples (target labels merged) and metadata of a Prometheus text / OpenMetrics body.

    Raises :class:`ScrapeFailed` when the body does not parse. ``_created`` series of
    OpenMetrics counters, histograms and summaries are left out, as Prometheus does.
    """
    openmetrics = content_type.split(";")[0].strip().lower() == "application/openmetrics-text"
    parser = parse_openmetrics if openmetrics else parse_text
    samples: list[Row] = []
    metadata: list[MetricMeta] = []
    try:
        for family in parser(body):
            names: set[str] = set()
            for sample in family.samples:
                if (
                    family.type in ("counter", "histogram", "summary", "gaugehistogram")
                    and sample.name.endswith(_CREATED_SUFFIX)
                    and sample.name == family.name + _CREATED_SUFFIX
                ):
                    continue
                names.add(sample.name)
                samples.append(
                    (
                        sample.name,
                        merge_labels(dict(sample.labels), target_labels),
                        float(sample.value),
                        _timestamp_ms(sample.timestamp, default_ms),
                        len(samples),
                    )
                )
            metadata.extend(_metadata(family, names))
    except ValueError as exc:  # both parsers report malformed input as ValueError
        message = "cannot parse the response"
        raise ScrapeFailed(message, f"{message}: {excerpt(str(exc))}") from exc
    return samples, metadata


def _metadata(family: Any, names: set[str]) -> Iterable[MetricMeta]:
    metric_type = _TYPES.get(family.type, MetricType.unknown)
    name = family.name
    if family.type == "counter" and f"{name}_total" in names:
        name = f"{name}_total"
    if not name or (not family.documentation and metric_type is MetricType.unknown):
        return ()
    return (
        MetricMeta(
            name=name,
            type=metric_type,
            unit=family.unit or "",
            help=(family.documentation or "")[:1024],
        ),
    )


async def fetch(client: httpx.AsyncClient, target: TargetSpec) -> tuple[str, str]:
    """The body and content type of the target's response; :class:`ScrapeFailed` otherwise."""
    headers = {
        "Accept": ACCEPT,
        "X-Prometheus-Scrape-Timeout-Seconds": f"{target.timeout_seconds:g}",
        "User-Agent": f"agentdeck/{__version__}",
    }
    try:
        async with asyncio.timeout(target.timeout_seconds):
            async with client.stream(
                "GET", target.url, headers=headers, timeout=target.timeout_seconds
            ) as response:
                if response.status_code != 200:
                    message = f"server returned HTTP status {response.status_code}"
                    start = b""
                    async for chunk in response.aiter_bytes():
                        start += chunk
                        if len(start) >= EXCERPT_BYTES:
                            break
                    detail = f"{message}: {excerpt(start)}" if start else message
                    raise ScrapeFailed(message, detail)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise ScrapeFailed(f"response is larger than {MAX_BODY_BYTES} bytes")
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "text/plain")
                body = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
                return body, content_type
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise ScrapeFailed(f"scrape timed out after {target.timeout_seconds:g}s") from exc
    except httpx.TooManyRedirects as exc:
        raise ScrapeFailed("too many redirects") from exc
    except (httpx.HTTPError, OutboundRefused) as exc:
        failure = describe(exc)
        raise ScrapeFailed(failure.summary, failure.detail) from exc


async def scrape_target(
    target: TargetSpec,
    *,
    client: httpx.AsyncClient,
    ingestor: Ingestor,
    sessions: async_sessionmaker[AsyncSession],
) -> ScrapeOutcome:
    """Scrape ``target`` once, write its samples and the ``up`` series, update its row."""
    started_at = utcnow()
    start_ms = int(started_at.timestamp() * 1000)
    clock = time.perf_counter()
    labels = target.target_labels()
    samples: list[Row] = []
    metadata: list[MetricMeta] = []
    error: str | None = None
    detail: str | None = None
    try:
        body, content_type = await fetch(client, target)
        samples, metadata = parse_exposition(
            body, content_type, target_labels=labels, default_ms=start_ms
        )
    except ScrapeFailed as exc:
        error, detail = str(exc), exc.detail
        samples, metadata = [], []
    duration = time.perf_counter() - clock
    health = ScrapeHealth.down if error else ScrapeHealth.up
    scraped = len(samples)
    n = len(samples)
    for offset, (name, value) in enumerate(
        (
            ("up", 0.0 if error else 1.0),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", float(scraped)),
        )
    ):
        samples.append((name, dict(labels), value, start_ms, n + offset))
    outcome = ScrapeOutcome(health, started_at, duration, scraped, error, detail)
    async with sessions() as session:
        try:
            batch = Batch(samples, metadata=metadata, now_ms=start_ms)
            result = await ingestor.ingest(session, target.tenant_id, batch)
        except Exception as exc:  # the store failed: nothing of this scrape was kept
            await session.rollback()
            log.warning("scrape write failed", target=str(target.id), error=str(exc))
            if not error:
                outcome.error = "writing the samples failed"
                outcome.error_detail = f"writing the samples failed: {exc}"
        else:
            outcome.accepted, outcome.rejected = result.accepted, result.rejected
            outcome.errors = [
                f"{shown(samples[e.index][0])}: {e.message}" for e in result.errors[:5]
            ]
            if outcome.rejected and not error:
                outcome.error = (
                    f"{outcome.rejected} of {scraped} samples refused; first: {outcome.errors[0]}"
                )
        await scrape_service.record_scrape(
            session,
            target_id=target.id,
            tenant_id=target.tenant_id,
            health=health,
            at=started_at,
            duration_ms=round(duration * 1000, 3),
            error=outcome.error,
            error_detail=outcome.error_detail or outcome.error,
            samples=scraped,
        )
        await session.commit()
    return outcome


class ScrapeLoop(Loop):
    """Starts the scrapes that are due, each in its own task, ``concurrency`` at most at once."""

    name = "scraper"
    lease = True
    jitter = 0.1
    initial_delay = 0.0

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        ingestor: Ingestor,
        settings: Settings,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.ingestor = ingestor
        self.settings = settings
        self.interval = settings.loops.scrape_tick_seconds
        self._client = client
        self._owns_client = client is None
        self._limit = asyncio.Semaphore(settings.loops.scrape_concurrency)
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._last_start: dict[uuid.UUID, datetime] = {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = http_client(
                OutboundPolicy.from_settings(self.settings.outbound),
                follow_redirects=True,
                max_redirects=self.settings.outbound.max_redirects,
            )
        return self._client

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def _due(self, target: ScrapeTarget, now: datetime) -> bool:
        last = max(
            (t for t in (target.last_scrape_at, self._last_start.get(target.id)) if t),
            default=None,
        )
        return last is None or now - last >= timedelta(seconds=target.interval_seconds)

    async def tick(self) -> None:
        now = utcnow()
        async with self.sessions() as session:
            targets = await scrape_service.enabled_targets(session)
        for target, agent_name in targets:
            if target.id in self._tasks or not self._due(target, now):
                continue
            self._last_start[target.id] = now
            spec = TargetSpec.of(target, agent_name)
            task = asyncio.create_task(self._scrape(spec), name=f"scrape:{target.id}")
            self._tasks[target.id] = task
        known = {target.id for target, _ in targets}
        for target_id in list(self._last_start):
            if target_id not in known:
                del self._last_start[target_id]

    async def _scrape(self, target: TargetSpec) -> None:
        try:
            async with self._limit:
                outcome = await scrape_target(
                    target,
                    client=self.client,
                    ingestor=self.ingestor,
                    sessions=self.sessions,
                )
            if outcome.error:
                log.info(
                    "scrape failed",
                    target=str(target.id),
                    url=target.url,
                    error=outcome.error_detail or outcome.error,
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scrape crashed", target=str(target.id), url=target.url)
        finally:
            self._tasks.pop(target.id, None)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
