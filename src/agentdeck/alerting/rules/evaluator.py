"""The rule evaluator: a leased loop that evaluates each enabled rule when its interval is due.

One evaluation of a rule at time ``at``:

1. run the rule's PromQL as an instant query at ``at`` through the query service
   (our engine on the embedded store, VictoriaMetrics' API on the scale-out one);
2. each returned series is a series whose condition holds; its alert labels are the series
   labels (without ``__name__``), then the rule's labels, then ``alertname`` (and ``severity``
   from the rule unless a label sets it), and its fingerprint identifies it;
3. every series known from earlier evaluations (``alert_rule_states``) that is absent sees a
   false condition, or *hold* when the query failed; the rule-level series (no labels of its
   own) sees the rule's ``no_data_state`` when nothing came back (:mod:`.state`);
4. the state machine's events become alert writes (through
   :mod:`~agentdeck.alerting.alerts.lifecycle`): ``fired``/``nodata``/``error`` raise an
   alert (annotations rendered from the rule's templates), ``resolved`` resolves it, a series
   still firing refreshes its alert's value, and a series whose alert was resolved by hand
   raises a new alert (linked on both timelines) once the manual-resolve grace has passed;
5. the rule's ``health``, ``last_error``, ``last_evaluated_at`` and ``last_evaluation_ms`` are
   written in the same transaction, which is what makes the rule due again on any replica.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.alerting.alerts import am_service, lifecycle
from agentdeck.alerting.alerts import service as alerts_service
from agentdeck.alerting.alerts.fingerprint import fingerprint
from agentdeck.alerting.alerts.state import (
    Condition,
    Event,
    Memory,
    Phase,
    Timing,
    absent_condition,
    step,
)
from agentdeck.alerting.models import (
    Alert,
    AlertRule,
    AlertRuleState,
    AlertSource,
    AlertStatus,
    NoDataState,
    SeriesState,
)
from agentdeck.alerting.rules.compile import condition_of
from agentdeck.alerting.rules.templates import render_annotations
from agentdeck.bus.base import Bus
from agentdeck.loops.base import Loop
from agentdeck.query import service as query_service
from agentdeck.settings import AlertingSettings, Settings
from agentdeck.tsdb.base import Store

log = structlog.get_logger(__name__)

_BATCH = 25  # rules evaluated in one transaction

_RAISE_EVENTS = {Event.fired: "firing", Event.nodata: "nodata", Event.error: "error"}


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(slots=True)
class Outcome:
    """What one evaluation did (for tests, logs and the bus)."""

    rule_id: uuid.UUID
    series: int = 0
    error: str | None = None
    changed: list[tuple[Alert, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Seen:
    condition: Condition
    labels: dict[str, str]
    value: float | None
    reason: str


def alert_labels(rule: AlertRule, series: dict[str, str]) -> dict[str, str]:
    labels = {k: v for k, v in series.items() if k != "__name__"}
    labels.update({str(k): str(v) for k, v in (rule.labels or {}).items()})
    labels["alertname"] = rule.name
    labels.setdefault("severity", rule.severity.value)
    return labels


async def query_rule(
    store: Store, rule: AlertRule, at: datetime, timeout_s: float, expr: str | None = None
) -> list[tuple[dict[str, str], float]]:
    """The series the rule's expression (or ``expr``) returns at ``at`` (a scalar is one
    unlabelled series)."""
    data = await query_service.instant_query(
        store, rule.tenant_id, expr or rule.expr, round(at.timestamp() * 1000), timeout_s
    )
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        return [({}, float(result[1]))]
    if kind != "vector":
        raise ValueError(f"the rule's expression must return a vector or a scalar, not {kind}")
    return [(dict(item["metric"]), float(item["value"][1])) for item in result]


def _memory(row: AlertRuleState) -> Memory:
    return Memory(
        phase=Phase(row.state.value),
        active_since=_aware(row.active_since) or datetime.now(UTC),
        fired_at=_aware(row.fired_at),
        last_true_at=_aware(row.last_true_at),
        keep_firing_until=_aware(row.keep_firing_until),
        value=row.value,
    )


async def _has_data(store: Store, rule: AlertRule, at: datetime, timeout_s: float) -> bool:
    """Whether the compared side of ``<series> <op> <number>`` returned anything: an empty
    answer because every value is on the good side of the threshold is not "no data"."""
    try:
        series_expr = condition_of(rule.expr).series_expr
        if series_expr == rule.expr:
            return False
        return bool(await query_rule(store, rule, at, timeout_s, expr=series_expr))
    except Exception:  # the full expression answered; a failing split only means "unknown"
        return False


def _observations(
    rule: AlertRule,
    rows: dict[str, AlertRuleState],
    series: list[tuple[dict[str, str], float]] | None,
    has_data: bool = False,
) -> dict[str, _Seen]:
    """The condition each known or returned series sees (``series`` None: the query failed;
    ``has_data``: the expression was empty only because nothing breached)."""
    seen: dict[str, _Seen] = {}
    for labels, value in series or []:
        full = alert_labels(rule, labels)
        seen[fingerprint(full)] = _Seen(
            Condition.true, full, None if math.isnan(value) else value, "firing"
        )
    rule_level = alert_labels(rule, {})
    rule_fp = fingerprint(rule_level)
    if series is None:
        for fp, row in rows.items():
            seen[fp] = _Seen(Condition.hold, dict(row.labels), row.value, "error")
        condition = absent_condition(rule.no_data_state.value, errored=True)
        if condition is not Condition.false:
            seen[rule_fp] = _Seen(condition, rule_level, None, "error")
    elif not series and not has_data:
        condition = absent_condition(rule.no_data_state.value, errored=False)
        seen[rule_fp] = _Seen(condition, rule_level, None, "nodata")
    for fp, row in rows.items():
        seen.setdefault(fp, _Seen(Condition.false, dict(row.labels), None, "firing"))
    return seen


def _new_alert(rule: AlertRule, obs: _Seen, fp: str, reason: str) -> lifecycle.NewAlert:
    return lifecycle.NewAlert(
        tenant_id=rule.tenant_id,
        source=AlertSource.rule,
        rule_id=rule.id,
        rule_name=rule.name,
        fingerprint=fp,
        labels=obs.labels,
        annotations=render_annotations(
            {str(k): str(v) for k, v in (rule.annotations or {}).items()},
            labels=obs.labels,
            value=obs.value,
        ),
        severity=rule.severity,
        reason=reason,
        value=obs.value,
        data={"value": obs.value},
    )


_CREATED = {
    "firing": "condition met",
    "nodata": "no data for the rule's expression",
    "error": "the rule's evaluation failed",
}


@dataclass(slots=True)
class _Evaluation:
    """One rule evaluated at ``at``: what every series' step writes, through the lifecycle."""

    session: AsyncSession
    rule: AlertRule
    at: datetime
    timing: Timing
    grace: timedelta
    outcome: Outcome

    async def raise_alert(self, obs: _Seen, fp: str, reason: str) -> Alert:
        new = _new_alert(self.rule, obs, fp, reason)
        alert = await lifecycle.raise_alert(self.session, new, at=self.at, message=_CREATED[reason])
        self.outcome.changed.append((alert, "created"))
        return alert

    async def advance(
        self, fp: str, obs: _Seen, row: AlertRuleState | None, alert: Alert | None
    ) -> None:
        """Step the series' state machine, write what its events mean, save its state."""
        result = step(
            _memory(row) if row else None,
            obs.condition,
            at=self.at,
            timing=self.timing,
            value=obs.value,
        )
        alert = await self._apply_events(result.events, obs, fp, alert)
        memory = result.memory
        if memory is not None and memory.phase in (Phase.firing, Phase.nodata, Phase.error):
            alert = await self._keep_alert(memory, obs, fp, alert)
        await _save_state(self.session, self.rule, fp, row, memory, obs, alert)

    async def _apply_events(
        self, events: Sequence[Event], obs: _Seen, fp: str, alert: Alert | None
    ) -> Alert | None:
        """``resolved`` resolves the series' alert; ``fired``/``nodata``/``error`` raise one."""
        for event in events:
            if event is Event.resolved and alert is not None:
                if alert.status is not AlertStatus.resolved:
                    lifecycle.resolve(self.session, alert, at=self.at, message="condition cleared")
                    self.outcome.changed.append((alert, "resolved"))
                alert = None
            elif event in _RAISE_EVENTS:
                reason = obs.reason if event is Event.fired else _RAISE_EVENTS[event]
                alert = await self.raise_alert(obs, fp, reason)
        return alert

    async def _keep_alert(self, memory: Memory, obs: _Seen, fp: str, alert: Alert | None) -> Alert:
        """A series still raised keeps an alert: raised again when its row is gone, raised
        anew (linked) when it was resolved by hand over the grace ago, refreshed otherwise."""
        if alert is None:  # raised earlier but the alert row is gone: raise again
            reason = obs.reason if memory.phase is Phase.firing else memory.phase.value
            return await self.raise_alert(obs, fp, reason)
        if alert.status is AlertStatus.resolved:
            if obs.condition is not Condition.hold and lifecycle.grace_passed(
                alert, self.at, self.grace
            ):
                previous = alert
                alert = await lifecycle.refire(
                    self.session,
                    previous,
                    _new_alert(self.rule, obs, fp, previous.reason),
                    at=self.at,
                    created=_CREATED[previous.reason],
                    why="the condition still held after a manual resolve",
                )
                self.outcome.changed.append((alert, "created"))
        elif obs.condition is Condition.true and memory.phase is Phase.firing:
            if alert.value != obs.value:
                alert.value = obs.value
                self.outcome.changed.append((alert, "updated"))
            alert.last_seen_at = self.at
        return alert


async def _query(
    store: Store, rule: AlertRule, at: datetime, settings: AlertingSettings, outcome: Outcome
) -> tuple[list[tuple[dict[str, str], float]] | None, bool]:
    """The series the rule returns (None when the query failed: the rule's error) and
    whether an empty answer only means that nothing breached the threshold."""
    timeout = settings.evaluation_timeout_seconds
    series: list[tuple[dict[str, str], float]] | None
    try:
        series = await query_rule(store, rule, at, timeout)
    except Exception as exc:  # any failure of the query is the rule's error, not the loop's
        series = None
        outcome.error = str(exc) or type(exc).__name__
    outcome.series = len(series or [])
    has_data = False
    if series == [] and rule.no_data_state is not NoDataState.ok:
        has_data = await _has_data(store, rule, at, timeout)
    return series, has_data


async def _known_series(
    session: AsyncSession, rule: AlertRule, states: Sequence[AlertRuleState] | None
) -> tuple[dict[str, AlertRuleState], dict[uuid.UUID, Alert]]:
    """The rule's series from earlier evaluations, by fingerprint, and their alerts."""
    if states is None:
        states = (
            await session.scalars(select(AlertRuleState).where(AlertRuleState.rule_id == rule.id))
        ).all()
    rows = {row.fingerprint: row for row in states}
    alert_ids = [row.alert_id for row in rows.values() if row.alert_id is not None]
    if not alert_ids:
        return rows, {}
    found = await session.scalars(select(Alert).where(Alert.id.in_(alert_ids)))
    return rows, {alert.id: alert for alert in found}


def _record_health(rule: AlertRule, outcome: Outcome, at: datetime, started: float) -> None:
    rule.health = "error" if outcome.error else "ok"
    rule.last_error = outcome.error[:2000] if outcome.error else None
    rule.last_evaluated_at = at
    rule.last_evaluation_ms = (time.perf_counter() - started) * 1000


async def evaluate_rule(
    session: AsyncSession,
    *,
    store: Store,
    rule: AlertRule,
    at: datetime,
    settings: AlertingSettings,
    states: Sequence[AlertRuleState] | None = None,
) -> Outcome:
    """Evaluate ``rule`` at ``at`` and write states, alerts and health (the caller commits).

    ``states``: the rule's ``alert_rule_states`` rows when the caller loaded them already
    (the loop loads a batch of rules' rows in one query); None reads them here."""
    started = time.perf_counter()
    outcome = Outcome(rule_id=rule.id)
    series, has_data = await _query(store, rule, at, settings, outcome)
    rows, alerts = await _known_series(session, rule, states)
    evaluation = _Evaluation(
        session,
        rule,
        at,
        Timing(rule.for_seconds, rule.keep_firing_for_seconds),
        timedelta(seconds=settings.manual_resolve_grace_seconds),
        outcome,
    )
    for fp, obs in _observations(rule, rows, series, has_data).items():
        row = rows.get(fp)
        alert = alerts.get(row.alert_id) if row and row.alert_id else None
        await evaluation.advance(fp, obs, row, alert)
    _record_health(rule, outcome, at, started)
    return outcome


async def _save_state(
    session: AsyncSession,
    rule: AlertRule,
    fp: str,
    row: AlertRuleState | None,
    memory: Memory | None,
    obs: _Seen,
    alert: Alert | None,
) -> None:
    if memory is None:
        if row is not None:
            await session.execute(
                delete(AlertRuleState).where(
                    AlertRuleState.rule_id == rule.id, AlertRuleState.fingerprint == fp
                )
            )
        return
    if row is None:
        row = AlertRuleState(rule_id=rule.id, fingerprint=fp, tenant_id=rule.tenant_id)
        session.add(row)
    row.labels = obs.labels
    row.state = SeriesState(memory.phase.value)
    row.active_since = memory.active_since
    row.fired_at = memory.fired_at
    row.last_true_at = memory.last_true_at
    row.keep_firing_until = memory.keep_firing_until
    row.value = memory.value
    row.alert_id = alert.id if alert is not None else None


def _due(last: datetime | None, interval_seconds: float, now: datetime) -> bool:
    last = _aware(last)
    return last is None or (now - last).total_seconds() >= interval_seconds - 0.001


class EvaluatorLoop(Loop):
    """Evaluates the enabled rules that are due, and resolves pushed (Alertmanager API) alerts
    whose end time passed; one replica at a time (leased)."""

    name = "alert-evaluator"
    lease = True
    jitter = 0.0
    initial_delay = 0.0

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: Store,
        settings: Settings,
        bus: Bus | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.settings = settings.alerting
        self.bus = bus
        #: called after a tick that changed an alert (the app wakes the dispatcher with it)
        self.on_change = on_change
        self.interval = settings.alerting.evaluator_tick_seconds
        self._limit = asyncio.Semaphore(settings.alerting.evaluation_concurrency)

    async def tick(self) -> None:
        now = datetime.now(UTC)
        async with self.sessions() as session:
            expired = await am_service.expire(session, now=now)
            await session.commit()
        alerts_service.publish(self.bus, expired, "resolved")
        changed = bool(expired)
        async with self.sessions() as session:
            rows = await session.execute(
                select(AlertRule.id, AlertRule.interval_seconds, AlertRule.last_evaluated_at).where(
                    AlertRule.enabled.is_(True)
                )
            )
            ids = [rule_id for rule_id, interval, last in rows if _due(last, interval, now)]
        if ids:
            # Up to _BATCH rules share a transaction (a commit per rule was most of the cost of
            # 1,000 rules); small counts are still spread over the concurrent slots.
            size = max(1, min(_BATCH, -(-len(ids) // self.settings.evaluation_concurrency)))
            batches = [ids[i : i + size] for i in range(0, len(ids), size)]
            counts = await asyncio.gather(*(self._evaluate(batch, now) for batch in batches))
            changed = changed or any(counts)
        if changed and self.on_change is not None:
            self.on_change()

    async def _evaluate(self, rule_ids: list[uuid.UUID], at: datetime) -> int:
        """Evaluates the rules; returns how many alerts changed."""
        """Evaluate the rules in one transaction; if it fails, each rule in its own."""
        async with self._limit:
            outcomes = await self._evaluate_together(rule_ids, at)
            if outcomes is None:
                outcomes = []
                for rule_id in rule_ids:
                    outcomes += await self._evaluate_together([rule_id], at) or []
        changed = 0
        for outcome in outcomes:
            if outcome.error:
                log.info("rule_error", rule_id=str(outcome.rule_id), error=outcome.error)
            for alert, action in outcome.changed:
                alerts_service.publish(self.bus, [alert], action)
                changed += 1
        return changed

    async def _evaluate_together(
        self, rule_ids: list[uuid.UUID], at: datetime
    ) -> list[Outcome] | None:
        """The rules' outcomes once committed; None when the transaction failed."""
        async with self.sessions() as session:
            try:
                rules = await session.scalars(
                    select(AlertRule).where(AlertRule.id.in_(rule_ids), AlertRule.enabled.is_(True))
                )
                states: dict[uuid.UUID, list[AlertRuleState]] = {i: [] for i in rule_ids}
                for row in await session.scalars(
                    select(AlertRuleState).where(AlertRuleState.rule_id.in_(rule_ids))
                ):
                    states[row.rule_id].append(row)
                outcomes = [
                    await evaluate_rule(
                        session,
                        store=self.store,
                        rule=rule,
                        at=at,
                        settings=self.settings,
                        states=states[rule.id],
                    )
                    for rule in rules.all()
                ]
                await session.commit()
            except Exception as exc:
                log.warning(
                    "rule_evaluation_failed", rule_ids=[str(i) for i in rule_ids], error=str(exc)
                )
                await session.rollback()
                return None
        return outcomes
