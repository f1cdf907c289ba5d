"""Backtest: replay a rule over a past window with the evaluator's own state machine.

The expression is range-queried at the rule's interval (coarser when the window would need
more than ``max_steps`` evaluations); each step's result feeds :func:`state.step` per series,
exactly as the evaluator would have seen it, so the result says when each series would have
gone pending, fired and resolved. *No data* means the series expression (the expression
without its final comparison) returned nothing: a threshold that simply is not breached is
not "no data", and only then does the rule's ``no_data_state`` apply.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from agentdeck.alerting.alerts import state
from agentdeck.alerting.rules import templates
from agentdeck.alerting.rules.schemas import (
    AlertRuleCreate,
    BacktestAlert,
    BacktestResult,
    BacktestSeries,
    BacktestTransition,
    CompiledExpr,
)
from agentdeck.tsdb.base import Store
from agentdeck.tsdb.names import METRIC_NAME_LABEL
from agentdeck.tsdb.promql import Vector, range_query

MAX_CHART_SERIES = 50
_STATE_OF_EVENT = {
    state.Event.pending: "pending",
    state.Event.fired: "firing",
    state.Event.resolved: "resolved",
    state.Event.cancelled: "inactive",
    state.Event.nodata: "nodata",
    state.Event.error: "error",
}

LabelKey = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted((k, v) for k, v in labels.items() if k != METRIC_NAME_LABEL))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass
class _Open:
    labels: dict[str, str]
    pending_at: datetime | None = None
    fired_at: datetime | None = None
    value: float | None = None


@dataclass
class _Replay:
    rule: AlertRuleCreate
    timing: state.Timing
    memories: dict[LabelKey, state.Memory] = field(default_factory=dict)
    open: dict[LabelKey, _Open] = field(default_factory=dict)
    transitions: list[BacktestTransition] = field(default_factory=list)
    alerts: list[BacktestAlert] = field(default_factory=list)

    def alert_labels(self, series: dict[str, str]) -> dict[str, str]:
        labels = dict(series)
        for name, template in self.rule.labels.items():
            labels[name] = templates.render(template, labels=series, value=None)
        labels["alertname"] = self.rule.name
        labels["severity"] = self.rule.severity.value
        return labels

    def feed(
        self,
        key: LabelKey,
        condition: state.Condition,
        at: datetime,
        value: float | None,
    ) -> None:
        prev = self.memories.get(key)
        result = state.step(prev, condition, at=at, timing=self.timing, value=value)
        if result.memory is None:
            self.memories.pop(key, None)
        else:
            self.memories[key] = result.memory
        series = dict(key)
        for event in result.events:
            if event is state.Event.kept:
                continue
            self.transitions.append(
                BacktestTransition(labels=series, at=at, state=_STATE_OF_EVENT[event], value=value)
            )
            self._track(key, event, at, value)

    def _track(self, key: LabelKey, event: state.Event, at: datetime, value: float | None) -> None:
        current = self.open.get(key)
        if event is state.Event.pending:
            self.open[key] = _Open(dict(key), pending_at=at)
        elif event in (state.Event.fired, state.Event.nodata, state.Event.error):
            current = current or _Open(dict(key))
            current.fired_at, current.value = at, value
            self.open[key] = current
        elif event is state.Event.cancelled:
            self.open.pop(key, None)
        elif event is state.Event.resolved and current is not None:
            self._close(key, current, at)

    def _close(self, key: LabelKey, current: _Open, resolved_at: datetime | None) -> None:
        self.open.pop(key, None)
        if current.fired_at is None:
            return
        labels = self.alert_labels(current.labels)
        self.alerts.append(
            BacktestAlert(
                labels=labels,
                annotations=templates.render_annotations(
                    self.rule.annotations, labels=labels, value=current.value
                ),
                pending_at=current.pending_at,
                fired_at=current.fired_at,
                resolved_at=resolved_at,
            )
        )

    def finish(self) -> None:
        for key, current in list(self.open.items()):
            self._close(key, current, None)
        self.alerts.sort(
            key=lambda a: a.fired_at or a.pending_at or datetime.min.replace(tzinfo=UTC)
        )


def _step_ms(rule: AlertRuleCreate, start_ms: int, end_ms: int, max_steps: int) -> int:
    interval_ms = max(1000, round(rule.interval_seconds * 1000))
    needed = math.ceil((end_ms - start_ms) / max(1, max_steps - 1))
    return max(interval_ms, needed)


async def backtest(
    store: Store,
    tenant_id: uuid.UUID,
    *,
    rule: AlertRuleCreate,
    compiled: CompiledExpr,
    start: datetime,
    end: datetime,
    max_steps: int,
) -> BacktestResult:
    """When the rule would have gone pending, fired and resolved between ``start`` and ``end``.

    Raises :class:`~agentdeck.tsdb.promql.PromQLError` when the expression cannot be evaluated.
    """
    start_ms, end_ms = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
    step_ms = _step_ms(rule, start_ms, end_ms, max_steps)
    condition = await range_query(store, tenant_id, compiled.expr, start_ms, end_ms, step_ms)
    if compiled.series_expr != compiled.expr:
        series = await range_query(
            store, tenant_id, compiled.series_expr, start_ms, end_ms, step_ms
        )
    else:
        series = condition
    if not isinstance(condition, Vector) or not isinstance(series, Vector):
        from agentdeck.tsdb.promql import PromQLError

        raise PromQLError("a rule expression must return an instant vector")
    times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    replay = _Replay(
        rule,
        state.Timing(
            for_seconds=rule.for_seconds, keep_firing_for_seconds=rule.keep_firing_for_seconds
        ),
    )
    cond_keys = [_key(labels) for labels in condition.labels]
    no_data = state.absent_condition(rule.no_data_state.value, errored=False)
    for column, ms in enumerate(times):
        at = _at(int(ms))
        seen: set[LabelKey] = set()
        for row, key in enumerate(cond_keys):
            if condition.mask[row, column]:
                seen.add(key)
                value = _finite(float(condition.values[row, column]))
                replay.feed(key, state.Condition.true, at, value)
        for key in [k for k in replay.memories if k not in seen and k != ()]:
            replay.feed(key, state.Condition.false, at, None)
        has_data = bool(series.mask[:, column].any()) if len(series) else False
        if () not in seen:
            replay.feed((), state.Condition.false if has_data else no_data, at, None)
    replay.finish()
    chart = [
        BacktestSeries(
            labels={k: v for k, v in labels.items() if k != METRIC_NAME_LABEL},
            values=[
                _finite(float(v)) if present else None
                for v, present in zip(series.values[i], series.mask[i], strict=True)
            ],
        )
        for i, labels in enumerate(series.labels[:MAX_CHART_SERIES])
    ]
    return BacktestResult(
        expr=compiled.expr,
        series_expr=compiled.series_expr,
        operator=compiled.operator,
        threshold=compiled.threshold,
        step_seconds=step_ms / 1000,
        timestamps=[_at(int(ms)) for ms in times],
        series=chart,
        transitions=replay.transitions,
        alerts=replay.alerts,
        truncated=len(series) > MAX_CHART_SERIES,
    )
