"""The demo simulator as a background task: register the fleet, backfill, then emit live.

Samples go through the public JSON ingest API (``POST /api/v1/metrics/batch``) with the
simulator's own API key, exactly as a real agent's would, and so do the agents' log lines
(``POST /api/v1/logs/batch``). The task waits for the server to answer, creates the demo's
log stream when the tenant has none by its name (``POST /api/v1/log-streams``, so the
incidents' lines are cut into batches and the detectors raise anomalies), backfills metrics
and logs of the last hour on a first start (or the gap since the newest demo sample), then
posts one batch of each every ``interval_s`` until :meth:`DemoSimulator.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.demo.fleet import PreparedFleet, prepare_fleet
from agentdeck.demo.logs import STREAM, log_entries
from agentdeck.demo.simulate import CPU, FleetSimulator, Incident, Sample
from agentdeck.settings import Settings
from agentdeck.tsdb.base import Matcher, MatchOp, Store

log = structlog.get_logger(__name__)

BATCH_PATH = "/api/v1/metrics/batch"
LOGS_PATH = "/api/v1/logs/batch"
STREAMS_PATH = "/api/v1/log-streams"
ALERTS_PATH = "/api/v1/alerts"
#: The demo's scripted on-call resolves a log-anomaly alert once the newest lines behind it are
#: this old (log anomalies are events: nothing else would end their alerts). While an incident
#: goes on, each new batch's anomaly renews the alert's evidence, so it stays open.
LOG_ALERT_QUIET_S = 300.0
RESOLUTION_NOTE = "demo: the incident is over and its logs are quiet"
#: Log lines per backfill request at most: small slices, so the server keeps answering the
#: UI while it mines the backfill's templates.
LOG_BATCH_LINES = 1_000


def to_payload(samples: Sequence[Sample]) -> dict[str, Any]:
    """The JSON ingest body for ``samples``."""
    return {
        "samples": [
            {
                "name": s.name,
                "value": s.value,
                "timestamp": s.timestamp_ms,
                "labels": s.labels,
                "type": s.type,
                **({"unit": s.unit} if s.unit else {}),
            }
            for s in samples
        ]
    }


def backfill_ticks(
    now_ms: int, last_ms: int | None, *, interval_ms: int, span_ms: int
) -> list[int]:
    """Timestamps to backfill: from the newest sample (or ``span_ms`` ago) up to ``now_ms``.

    Ticks are aligned to the interval so a restart continues the same grid.
    """
    start = now_ms - span_ms if last_ms is None else max(last_ms, now_ms - span_ms)
    first = (start // interval_ms + 1) * interval_ms
    return list(range(first, now_ms + 1, interval_ms))


class DemoSimulator:
    """Runs the simulated fleet inside the server process."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: Store,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        interval_s: float = 10.0,
        backfill_s: float = 3600.0,
        batch_samples: int = 10_000,
        seed: int = 7,
        incidents: Sequence[Incident] | None = None,
        log_alert_quiet_s: float = LOG_ALERT_QUIET_S,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._base_url = base_url
        self._transport = transport
        self.interval_s = interval_s
        self.backfill_s = backfill_s
        self.batch_samples = batch_samples
        self.seed = seed
        self._incidents = incidents  # None: the hourly script
        self.log_alert_quiet_s = log_alert_quiet_s
        self.fleet: PreparedFleet | None = None
        self.simulator: FleetSimulator | None = None
        self.prepared = asyncio.Event()  # the fleet is registered and the key exists
        self.backfilled = asyncio.Event()  # the backfill has been sent
        self.ticked = asyncio.Event()  # a live tick has been sent (set after each one)
        self.posted_samples = 0
        self.posted_log_lines = 0
        self.stream_id: str | None = None  # the demo's log stream, once it exists
        self.live_ticks = 0
        #: The backfill's newest line time: an anomaly whose window ends by then is history.
        self.backfill_until: datetime | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo-simulator")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        except Exception:  # already logged in _run
            pass

    async def _sleep(self, seconds: float) -> bool:
        """Wait, or return True early when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        try:
            async with self._sessions() as session:
                self.fleet = await prepare_fleet(session)
            self.simulator = FleetSimulator(
                self.fleet.agents,
                seed=self.seed,
                interval_s=self.interval_s,
                incidents=self._incidents,
            )
            self.prepared.set()
            log.info("demo fleet registered", agents=len(self.fleet.agents))
            async with httpx.AsyncClient(
                base_url=self._base_url,
                transport=self._transport,
                headers={"X-API-Key": self.fleet.api_key, "User-Agent": "agentdeck-demo"},
                timeout=30,
            ) as client:
                if not await self._wait_for_server(client):
                    return
                await self._ensure_stream(client)
                await self._backfill(client)
                self.backfilled.set()
                await self._live(client)
        except Exception:
            log.exception("demo simulator failed")
            raise

    async def _wait_for_server(self, client: httpx.AsyncClient) -> bool:
        delay = 0.1
        while not self._stopping.is_set():
            try:
                response = await client.get("/readyz")
                if response.status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if await self._sleep(delay):
                return False
            delay = min(delay * 2, 2.0)
        return False

    async def _newest_sample_ms(self) -> int | None:
        assert self.fleet is not None and self.fleet.agents
        now_ms = int(time.time() * 1000)
        series = await self._store.select(
            self.fleet.tenant_id,
            [Matcher.name_is(CPU), Matcher("agent", MatchOp.eq, self.fleet.agents[0].name)],
            now_ms - int(self.backfill_s * 1000),
            now_ms,
        )
        newest = [int(s.timestamps[-1]) for s in series if len(s)]
        return max(newest) if newest else None

    async def _backfill(self, client: httpx.AsyncClient) -> None:
        assert self.simulator is not None and self.fleet is not None
        if not self.fleet.agents or self.backfill_s <= 0:
            return
        ticks = backfill_ticks(
            int(time.time() * 1000),
            await self._newest_sample_ms(),
            interval_ms=int(self.interval_s * 1000),
            span_ms=int(self.backfill_s * 1000),
        )
        if ticks:
            self.backfill_until = datetime.fromtimestamp(ticks[-1] / 1000, UTC)
        pending: list[Sample] = []
        for tick in ticks:
            if self._stopping.is_set():
                return
            pending.extend(self.simulator.step(tick))
            if len(pending) >= self.batch_samples:
                await self._post(client, pending[: self.batch_samples])
                pending = pending[self.batch_samples :]
        while pending:
            await self._post(client, pending[: self.batch_samples])
            pending = pending[self.batch_samples :]
        # then the logs of the same ticks (the metrics first: the charts fill sooner)
        lines: list[dict[str, Any]] = []
        for tick in ticks:
            if self._stopping.is_set():
                return
            lines.extend(log_entries(self.simulator, tick, self.seed))
            if len(lines) >= LOG_BATCH_LINES:
                await self._post_log_entries(client, lines)
                lines = []
                if await self._sleep(0.05):  # room for the UI's requests between slices
                    return
        if lines:
            await self._post_log_entries(client, lines)
        log.info("demo backfill sent", ticks=len(ticks), log_lines=self.posted_log_lines)

    async def _live(self, client: httpx.AsyncClient) -> None:
        assert self.simulator is not None
        interval_ms = int(self.interval_s * 1000)
        while True:
            now_ms = int(time.time() * 1000)
            next_tick = (now_ms // interval_ms + 1) * interval_ms
            if await self._sleep((next_tick - now_ms) / 1000):
                return
            samples = self.simulator.step(next_tick)
            for i in range(0, len(samples), self.batch_samples):
                await self._post(client, samples[i : i + self.batch_samples])
            await self._post_logs(client, next_tick)
            every = max(1, round(min(60.0, self.log_alert_quiet_s) / self.interval_s))
            if self.live_ticks % every == 0:
                await self._resolve_quiet_log_alerts(client, next_tick)
            self.live_ticks += 1
            self.ticked.set()

    async def _post(self, client: httpx.AsyncClient, samples: Sequence[Sample]) -> None:
        if await _posted(client, BATCH_PATH, to_payload(samples), "ingest"):
            self.posted_samples += len(samples)

    async def _ensure_stream(self, client: httpx.AsyncClient) -> None:
        """Find the demo's active log stream by name, or create it."""
        try:
            listed = await client.get(STREAMS_PATH, params={"limit": 500})
            if listed.status_code == 200:
                for stream in listed.json()["items"]:
                    if stream["name"] == STREAM["name"]:
                        self.stream_id = str(stream["stream_id"])
                        return
            created = await client.post(STREAMS_PATH, json=STREAM)
        except httpx.TransportError as exc:
            log.warning("demo log stream not created", error=repr(exc))
            return
        if created.status_code == 201:
            self.stream_id = str(created.json()["stream_id"])
            log.info("demo log stream created", stream_id=self.stream_id)
        else:
            log.warning(
                "demo log stream refused", status=created.status_code, body=created.text[:500]
            )

    async def _resolve_quiet_log_alerts(self, client: httpx.AsyncClient, t_ms: int) -> None:
        """Resolve the log-anomaly alerts whose newest evidence is quiet, as an operator would."""
        try:
            listed = await client.get(
                ALERTS_PATH, params={"source": "logs", "active": "true", "limit": 100}
            )
            if listed.status_code != 200:
                return
            for alert in listed.json()["items"]:
                window_end = alert["annotations"].get("window_end")
                if not window_end:
                    continue
                last = datetime.fromisoformat(window_end).timestamp()
                if t_ms / 1000 - last >= self.log_alert_quiet_s:
                    await client.post(
                        f"{ALERTS_PATH}/{alert['id']}/resolve",
                        params={"resolution_note": RESOLUTION_NOTE},
                    )
        except httpx.TransportError as exc:
            log.warning("demo could not resolve log alerts", error=repr(exc))

    async def _post_logs(self, client: httpx.AsyncClient, t_ms: int) -> None:
        assert self.simulator is not None
        await self._post_log_entries(client, log_entries(self.simulator, t_ms, self.seed))

    async def _post_log_entries(
        self, client: httpx.AsyncClient, entries: list[dict[str, Any]]
    ) -> None:
        if await _posted(client, LOGS_PATH, {"entries": entries}, "log ingest"):
            self.posted_log_lines += len(entries)


async def _posted(client: httpx.AsyncClient, path: str, body: Any, what: str) -> bool:
    """POST ``body`` as JSON to ``path``; False, with a warning, when it failed or was refused."""
    try:
        response = await client.post(path, json=body)
    except httpx.TransportError as exc:
        log.warning(f"demo {what} failed", error=repr(exc))
        return False
    if response.status_code >= 300:
        log.warning(f"demo {what} refused", status=response.status_code, body=response.text[:500])
        return False
    return True


def own_url(settings: Settings) -> str:
    """This server's base URL as seen from inside (a wildcard bind is reached on loopback)."""
    host = settings.server.host
    if host in ("0.0.0.0", "", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"
