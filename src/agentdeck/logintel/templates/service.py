"""Per-tenant template miners: every ingested line gets a template id before it is stored.

:class:`TemplateRegistry` holds one :class:`~agentdeck.logintel.mining.TemplateMiner` per
tenant and the bounded statistics of its templates (:mod:`.stats`). It is registered as a
column processor on the log ingestor (:meth:`TemplateRegistry.columns`), so the template id is
part of the stored record. The miners and statistics are saved as JSON in the state database
(``log_template_states``) by :class:`TemplateSaveLoop` and on shutdown, and loaded on start, so
template ids survive a restart.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import orjson
import structlog
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.errors import invalid, not_found
from agentdeck.logintel.mining import TemplateMiner
from agentdeck.logintel.templates.metrics import TemplateMetrics
from agentdeck.logintel.templates.models import TemplateMinerState
from agentdeck.logintel.templates.stats import HOUR_NS, StatLimits, TemplateStats, rising_score
from agentdeck.logstore.base import LogColumns, LogRecord
from agentdeck.loops.base import Loop
from agentdeck.settings import LogIntelSettings

log = structlog.get_logger(__name__)

FORMAT = "agentdeck.logintel.templates/1"
Sort = Literal["count", "newest", "rising"]


@dataclass(frozen=True, slots=True)
class TemplateView:
    """One template as the API shows it."""

    id: int
    template: str
    count: int
    first_ns: int
    last_ns: int
    services: list[str]
    samples: list[str]
    trend: list[int]
    trend_start_ns: int
    merged_ids: list[int]
    rising: float


class TenantTemplates:
    """One tenant's miner and its templates' statistics (one task at a time)."""

    def __init__(self, miner: TemplateMiner, stats: dict[int, TemplateStats] | None = None):
        self.miner = miner
        self.stats: dict[int, TemplateStats] = stats or {}
        self.dirty = False

    def tidy(self, limits: StatLimits) -> None:
        """Fold the statistics of merged ids into their survivor, drop those of evicted ones."""
        miner = self.miner
        for cid in list(self.stats):
            live = miner.resolve(cid)
            if miner.template(live) is None:
                del self.stats[cid]
            elif live != cid:
                merged = self.stats.pop(cid)
                target = self.stats.get(live)
                if target is None:
                    self.stats[live] = merged
                else:
                    target.absorb(merged, limits)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "format": FORMAT,
                "miner": self.miner.to_state(),
                "stats": [[cid, s.to_json()] for cid, s in self.stats.items()],
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> TenantTemplates:
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"not a template state ({FORMAT})")
            miner = TemplateMiner.from_state(data["miner"])
            stats = {int(cid): TemplateStats.from_json(s) for cid, s in data["stats"]}
        except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"malformed template state: {exc!r}") from exc
        return cls(miner, stats)


class TemplateRegistry:
    """Every tenant's miner, its statistics, their persistence and the queries of the API."""

    def __init__(
        self,
        settings: LogIntelSettings,
        metrics: TemplateMetrics | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.clock_ns = clock_ns
        self.limits = StatLimits(
            samples=settings.template_samples,
            services=settings.template_services,
            hours=settings.template_trend_hours,
        )
        self.tenants: dict[uuid.UUID, TenantTemplates] = {}

    def tenant(self, tenant_id: uuid.UUID) -> TenantTemplates:
        found = self.tenants.get(tenant_id)
        if found is None:
            miner = TemplateMiner(max_templates=self.settings.max_templates_per_tenant)
            found = self.tenants[tenant_id] = TenantTemplates(miner)
        return found

    # -- the write path

    def assign(
        self,
        tenant_id: uuid.UUID,
        messages: Sequence[str],
        services: Sequence[str] | None = None,
        ts_ns: Sequence[int] | None = None,
    ) -> list[int]:
        """The template id of each message (in order); statistics updated on the way."""
        started = time.perf_counter()
        entry = self.tenant(tenant_id)
        miner, stats, limits = entry.miner, entry.stats, self.limits
        evicted_before = miner.counters.templates_evicted
        now = self.clock_ns()
        now_hour = now // HOUR_NS
        ids = miner.add_many(messages)
        # the statistics once per template of the batch, not once per line
        lines_of: dict[int, list[int]] = {}
        for i, cid in enumerate(ids):
            group = lines_of.get(cid)
            if group is None:
                lines_of[cid] = [i]
            else:
                group.append(i)
        for cid, group in lines_of.items():
            stamps = [ts_ns[i] for i in group] if ts_ns is not None else [now] * len(group)
            found = stats.get(cid)
            if found is None:
                found = stats[cid] = TemplateStats(first_ns=stamps[0], last_ns=stamps[0])
            wanted = limits.samples - len(found.samples)
            if services is None:
                kinds: Sequence[str] = [""]
            elif len(found.services) < limits.services:
                kinds = [services[i] for i in group]
            else:
                kinds = ()
            found.see_many(
                stamps,
                kinds,
                [messages[i] for i in group[: max(wanted, 0)]],
                now_hour=now_hour,
                limits=limits,
            )
        if len(stats) > 2 * miner.max_templates:
            entry.tidy(limits)
        entry.dirty = entry.dirty or bool(messages)
        if self.metrics is not None:
            self.metrics.lines.inc(len(messages))
            evicted = miner.counters.templates_evicted - evicted_before
            if evicted:
                self.metrics.evicted.inc(evicted)
            self.metrics.templates.labels(tenant=str(tenant_id)).set(len(miner))
            self.metrics.seconds.observe(time.perf_counter() - started)
        return ids

    def processor(
        self, tenant_id: uuid.UUID, records: Sequence[LogRecord]
    ) -> Sequence[LogRecord] | None:
        """The log ingestor's line processor: the records with ``template_id`` set."""
        if not records:
            return None
        ids = self.assign(
            tenant_id,
            [r.message for r in records],
            [r.service for r in records],
            [r.ts_ns for r in records],
        )
        return [with_template(r, cid) for r, cid in zip(records, ids, strict=True)]

    def columns(self, tenant_id: uuid.UUID, lines: LogColumns) -> None:
        """The log ingestor's column processor: sets ``template_id`` on the lines (in place;
        no record per line)."""
        lines.template_id = self.assign(tenant_id, lines.message, lines.service, lines.ts_ns)

    # -- reads

    def ids_of(self, tenant_id: uuid.UUID, template_id: int) -> list[int]:
        """The ids lines of ``template_id`` carry: the surviving id and the ids merged into it
        (just ``template_id`` when this tenant has no such template)."""
        entry = self.tenants.get(tenant_id)
        if entry is None:
            return [template_id]
        live = entry.miner.resolve(template_id)
        return [live, *self._aliases(entry, live)] if entry.miner.template(live) else [live]

    @staticmethod
    def _aliases(entry: TenantTemplates, live: int) -> list[int]:
        cluster = entry.miner._clusters.get(live)
        return sorted(cluster.aliases) if cluster is not None else []

    def _view(self, entry: TenantTemplates, cid: int, count: int, now_hour: int) -> TemplateView:
        hours = self.limits.hours
        stats = entry.stats.get(cid) or TemplateStats(first_ns=0, last_ns=0)
        trend = stats.trend(now_hour, hours)
        return TemplateView(
            id=cid,
            template=entry.miner.template(cid) or "",
            count=count,
            first_ns=stats.first_ns,
            last_ns=stats.last_ns,
            services=list(stats.services),
            samples=list(stats.samples),
            trend=trend,
            trend_start_ns=(now_hour - hours + 1) * HOUR_NS,
            merged_ids=self._aliases(entry, cid),
            rising=rising_score(trend),
        )

    def page(
        self,
        tenant_id: uuid.UUID,
        *,
        service: str | None = None,
        search: str | None = None,
        sort: Sort = "count",
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[TemplateView], str | None]:
        """A page of the tenant's templates, filtered and sorted, and the next page's cursor."""
        offset = decode_offset(cursor) if cursor else 0
        entry = self.tenants.get(tenant_id)
        if entry is None:
            return [], None
        entry.tidy(self.limits)
        now_hour = self.clock_ns() // HOUR_NS
        needle = search.casefold() if search else None
        views = []
        for info in entry.miner.templates():
            if needle is not None and needle not in info.template.casefold():
                continue
            stats = entry.stats.get(info.id)
            if service is not None and (stats is None or service not in stats.services):
                continue
            views.append(self._view(entry, info.id, info.count, now_hour))
        if sort == "newest":
            views.sort(key=lambda v: (-v.first_ns, -v.id))
        elif sort == "rising":
            views.sort(key=lambda v: (-v.rising, -v.count, v.id))
        page = views[offset : offset + limit]
        more = offset + limit < len(views)
        return page, encode_offset(offset + limit) if more else None

    def get(self, tenant_id: uuid.UUID, template_id: int) -> TemplateView:
        """One template (a merged id answers with the template it went into); NotFound."""
        entry = self.tenants.get(tenant_id)
        live = entry.miner.resolve(template_id) if entry is not None else template_id
        if entry is None or entry.miner.template(live) is None:
            raise not_found("template", template_id)
        entry.tidy(self.limits)
        count = entry.miner._clusters[live].count
        return self._view(entry, live, count, self.clock_ns() // HOUR_NS)

    # -- persistence

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Every tenant's saved miner (a state that cannot be read is logged and skipped)."""
        async with sessions() as session:
            rows = (await session.execute(select(TemplateMinerState))).scalars().all()
        for row in rows:
            try:
                entry = TenantTemplates.from_json(row.state)
            except ValueError as exc:
                log.warning("template_state_unreadable", tenant=str(row.tenant_id), error=str(exc))
                continue
            entry.miner.max_templates = self.settings.max_templates_per_tenant
            self.tenants[row.tenant_id] = entry
            if self.metrics is not None:
                self.metrics.templates.labels(tenant=str(row.tenant_id)).set(len(entry.miner))

    async def save(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Save the tenants whose templates changed since the last save; how many."""
        dirty = [(tid, e) for tid, e in self.tenants.items() if e.dirty]
        saved = 0
        for tenant_id, entry in dirty:
            entry.tidy(self.limits)
            entry.dirty = False
            state = entry.to_json().decode()
            try:
                async with sessions() as session:
                    row = await session.get(TemplateMinerState, tenant_id)
                    if row is None:
                        session.add(TemplateMinerState(tenant_id=tenant_id, state=state))
                    else:
                        row.state = state
                        row.updated_at = datetime.now(UTC)
                    await session.commit()
                saved += 1
            except SQLAlchemyError as exc:
                entry.dirty = True  # try again next time
                log.warning("template_state_save_failed", tenant=str(tenant_id), error=str(exc))
        return saved


class TemplateSaveLoop(Loop):
    """Saves the miners' state every ``logintel.templates_save_interval_seconds``."""

    name = "logintel_templates_save"
    lease = True

    def __init__(
        self, *, registry: TemplateRegistry, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.registry = registry
        self.sessions = sessions
        self.interval = registry.settings.templates_save_interval_seconds

    async def tick(self) -> None:
        await self.registry.save(self.sessions)


def with_template(r: LogRecord, template_id: int) -> LogRecord:
    """A copy of ``r`` with ``template_id`` set: the constructor with every field in order,
    2-3x faster than ``dataclasses.replace`` (a test checks it copies every field)."""
    return LogRecord(
        r.id,
        r.tenant_id,
        r.ts_ns,
        r.service,
        r.severity,
        r.message,
        r.agent,
        r.labels,
        r.trace_id,
        r.span_id,
        r.truncated,
        template_id,
        r.observed_ns,
    )


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_offset(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("invalid-cursor", ["query", "cursor"], "the cursor is malformed") from exc
    return offset
