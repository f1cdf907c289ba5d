"""Alert rule wire models: create, update, public, the threshold form, import and backtest."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from agentdeck.alerting.models import AlertRule, NoDataState, Severity
from agentdeck.alerting.routing.matchers import MatcherModel
from agentdeck.alerting.rules import templates
from agentdeck.alerting.rules.compile import (
    METRIC_NAME,
    DurationError,
    Threshold,
    parse_duration,
)

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_LABELS = 32
MAX_CHANNELS = 32
# Labels the evaluator sets itself.
RESERVED_LABELS = frozenset({"alertname", "__name__"})

RuleState = Literal["normal", "pending", "firing"]
Aggregation = Literal[
    "avg", "min", "max", "sum", "count", "last", "p50", "p90", "p95", "p99", "rate", "increase"
]
Operator = Literal[">", ">=", "<", "<=", "==", "!="]


def _check_window(value: str) -> str:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None
    if seconds < 1:
        raise ValueError("the window must be at least 1s")
    return value


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels are allowed; got {len(labels)}")
    return _check_templated(labels, "label", _not_reserved)


def _check_annotations(annotations: dict[str, str]) -> dict[str, str]:
    if len(annotations) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} annotations are allowed")
    return _check_templated(annotations, "annotation", _not_too_long)


def _check_templated(
    entries: dict[str, str], noun: str, check: Callable[[str, str], None]
) -> dict[str, str]:
    """A rule's labels or annotations (``noun``): names of label shape, then ``check`` (the
    rules of that kind), then each value a valid template."""
    for key, value in entries.items():
        if not LABEL_NAME.match(key):
            raise ValueError(f"{noun} name {key!r} must match [a-zA-Z_][a-zA-Z0-9_]*")
        check(key, value)
        try:
            templates.validate(value)
        except templates.TemplateError as exc:
            raise ValueError(f"{noun} {key!r}: {exc}") from None
    return entries


def _not_reserved(key: str, _value: str) -> None:
    if key in RESERVED_LABELS or key == "severity":
        raise ValueError(
            f"label {key!r} is set by agentdeck (alertname from the rule name, severity "
            "from the severity field)"
        )


def _not_too_long(key: str, value: str) -> None:
    if len(value) > 4000:
        raise ValueError(f"annotation {key!r} is longer than 4000 characters")


RuleName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(
        description="Unique in the tenant; becomes the alerts' `alertname` label.",
        examples=["AgentHighCPU"],
    ),
]
GroupName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(description="Prometheus rule group, used by import and export of rule files."),
]
Description = Annotated[str, StringConstraints(max_length=2000)]
Expr = Annotated[
    str,
    StringConstraints(min_length=1, max_length=10_000),
    Field(description="PromQL; an alert per series the expression returns."),
]
Seconds = Annotated[float, Field(ge=0, le=7 * 86400)]
Interval = Annotated[float, Field(ge=1, le=86400)]
RuleLabels = Annotated[
    dict[str, str],
    AfterValidator(_check_labels),
    Field(description="Added to every alert of the rule (templates allowed)."),
]
Annotations = Annotated[
    dict[str, str],
    AfterValidator(_check_annotations),
    Field(
        description="Rendered per alert: `{{ $labels.<name> }}`, `{{ $value }}` "
        '(with `| humanize`, `| printf "%.2f"`).',
        examples=[{"summary": "CPU of {{ $labels.agent }} at {{ $value }}%"}],
    ),
]
ChannelIds = Annotated[list[uuid.UUID], Field(max_length=MAX_CHANNELS)]


class ThresholdForm(BaseModel):
    """A rule without PromQL: compiled to `<aggregation>_over_time(metric{filters}[window])
    <operator> <threshold>`."""

    model_config = ConfigDict(extra="forbid")

    metric_name: str = Field(min_length=1, max_length=200, examples=["agent_cpu_percent"])
    aggregation: Aggregation = Field(
        "avg",
        description="Over the window: avg, min, max, sum, count, last, p50/p90/p95/p99 "
        "(quantile_over_time), rate or increase (counters).",
    )
    window: Annotated[str, AfterValidator(_check_window)] = Field(
        "5m", max_length=32, description="Prometheus duration, e.g. 5m."
    )
    operator: Operator = Field(
        ">=", description="`>=` breaches at the threshold itself, `>` only above it."
    )
    threshold: float
    label_filters: list[MatcherModel] = Field(default_factory=list, max_length=20)

    @field_validator("metric_name")
    @classmethod
    def _metric(cls, value: str) -> str:
        if not METRIC_NAME.match(value):
            raise ValueError("must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        return value

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    def compiled(self) -> Threshold:
        return Threshold.of(self.model_dump())


class _RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertRuleCreate(_RuleFields):
    """A new rule: give either `expr` (PromQL) or `threshold` (compiled to `expr`)."""

    name: RuleName
    group: GroupName = "default"
    description: Description = ""
    expr: Expr | None = None
    threshold: ThresholdForm | None = None
    for_seconds: Seconds = Field(0, description="Pending duration before firing (`for`).")
    keep_firing_for_seconds: Seconds = Field(
        0, description="Keep firing this long after the condition clears (against flapping)."
    )
    severity: Severity = Severity.warning
    labels: RuleLabels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    enabled: bool = True
    interval_seconds: Interval = Field(60, description="How often the rule is evaluated.")
    no_data_state: NoDataState = Field(
        NoDataState.ok,
        description="When the expression returns nothing: `ok` (no alert), `alerting` (fire) "
        "or `nodata` (raise a no-data alert).",
    )
    channel_ids: ChannelIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_of(self) -> AlertRuleCreate:
        if (self.expr is None) == (self.threshold is None):
            raise ValueError("give exactly one of expr (PromQL) or threshold (the form)")
        return self


# Fields of AlertRuleUpdate that may be sent as null.
NULLABLE_UPDATE_FIELDS = frozenset({"threshold"})


class AlertRuleUpdate(_RuleFields):
    """A partial update. Sending `expr` turns the rule into a PromQL rule; sending
    `threshold` recompiles `expr` from the form."""

    name: RuleName | None = None
    group: GroupName | None = None
    description: Description | None = None
    expr: Expr | None = None
    threshold: ThresholdForm | None = None
    for_seconds: Seconds | None = None
    keep_firing_for_seconds: Seconds | None = None
    severity: Severity | None = None
    labels: RuleLabels | None = None
    annotations: Annotations | None = None
    enabled: bool | None = None
    interval_seconds: Interval | None = None
    no_data_state: NoDataState | None = None
    channel_ids: ChannelIds | None = None

    @model_validator(mode="after")
    def _not_both(self) -> AlertRuleUpdate:
        if self.expr is not None and self.threshold is not None:
            raise ValueError("give at most one of expr (PromQL) or threshold (the form)")
        for name in self.model_fields_set - NULLABLE_UPDATE_FIELDS:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may be left out but not set to null")
        return self


class AlertRulePublic(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    group: str
    description: str
    expr: str = Field(description="The PromQL evaluated (compiled from `threshold` if set).")
    threshold: ThresholdForm | None
    for_seconds: float
    keep_firing_for_seconds: float
    severity: Severity
    labels: dict[str, str]
    annotations: dict[str, str]
    enabled: bool
    interval_seconds: float
    no_data_state: NoDataState
    channel_ids: list[uuid.UUID]
    created_by: uuid.UUID | None
    revision: int = Field(description="Bumped on every change; the ETag is its quoted value.")
    health: str = Field(description="unknown, ok or error (written by the evaluator).")
    last_evaluated_at: datetime | None
    last_evaluation_ms: float | None
    last_error: str | None
    state: RuleState = Field(
        "normal",
        description="normal, pending or firing: the worst state of the rule's series "
        "(nodata and error count as firing when the rule raises an alert for them).",
    )
    pending_series: int = Field(0, description="Series waiting out `for` right now.")
    firing_series: int = Field(0, description="Series firing right now.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: AlertRule, states: dict[str, int] | None = None) -> AlertRulePublic:
        counts = states or {}
        pending = counts.get("pending", 0)
        firing = sum(counts.get(s, 0) for s in ("firing", "nodata", "error"))
        return cls(
            state="firing" if firing else "pending" if pending else "normal",
            pending_series=pending,
            firing_series=firing,
            id=rule.id,
            tenant_id=rule.tenant_id,
            name=rule.name,
            group=rule.group_name,
            description=rule.description,
            expr=rule.expr,
            threshold=ThresholdForm.model_validate(rule.threshold) if rule.threshold else None,
            for_seconds=rule.for_seconds,
            keep_firing_for_seconds=rule.keep_firing_for_seconds,
            severity=rule.severity,
            labels={str(k): str(v) for k, v in rule.labels.items()},
            annotations={str(k): str(v) for k, v in rule.annotations.items()},
            enabled=rule.enabled,
            interval_seconds=rule.interval_seconds,
            no_data_state=rule.no_data_state,
            channel_ids=[uuid.UUID(str(c)) for c in rule.channel_ids],
            created_by=rule.created_by,
            revision=rule.revision,
            health=rule.health,
            last_evaluated_at=rule.last_evaluated_at,
            last_evaluation_ms=rule.last_evaluation_ms,
            last_error=rule.last_error,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
        )


class CompiledExpr(BaseModel):
    """An expression and what the preview chart draws for it."""

    expr: str
    series_expr: str = Field(description="The expression without its final comparison.")
    operator: str | None = Field(description="The comparison, when the expr ends in one.")
    threshold: float | None = Field(description="The number compared against, if any.")


class CompileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expr: Expr | None = None
    threshold: ThresholdForm | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CompileRequest:
        if (self.expr is None) == (self.threshold is None):
            raise ValueError("give exactly one of expr or threshold")
        return self


class DefaultPackResult(BaseModel):
    created: list[str] = Field(description="Rules of the pack created now.")
    existing: list[str] = Field(description="Rules of the pack the tenant already had.")


class ImportMode(StrEnum):
    skip = "skip"
    replace_ = "replace"


class RuleFileImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        min_length=1,
        max_length=2_000_000,
        description="A Prometheus rule file (YAML with `groups`).",
    )
    dry_run: bool = Field(False, description="Check and report, change nothing.")
    on_conflict: ImportMode = Field(
        ImportMode.skip, description="A rule whose name exists: skip it or replace it."
    )


class ImportError_(BaseModel):
    group: str | None
    index: int | None = Field(description="Position of the rule in its group (from 0).")
    name: str | None
    field: str | None
    message: str


class RuleFileImportResult(BaseModel):
    dry_run: bool
    created: list[str]
    replaced: list[str]
    skipped: list[str]
    errors: list[ImportError_]


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: AlertRuleCreate
    start: datetime
    end: datetime
    max_steps: int = Field(
        1000, ge=2, le=11_000, description="The step grows past the rule interval to fit this."
    )

    @model_validator(mode="after")
    def _order(self) -> BacktestRequest:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone (RFC 3339)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BacktestSeries(BaseModel):
    labels: dict[str, str]
    values: list[float | None] = Field(
        description="The series expression at each of `timestamps` (null: no sample)."
    )


class BacktestTransition(BaseModel):
    labels: dict[str, str]
    at: datetime
    state: str = Field(description="pending, firing, resolved, nodata or inactive.")
    value: float | None


class BacktestAlert(BaseModel):
    labels: dict[str, str]
    annotations: dict[str, str]
    pending_at: datetime | None
    fired_at: datetime | None
    resolved_at: datetime | None


class BacktestResult(BaseModel):
    expr: str
    series_expr: str
    operator: str | None
    threshold: float | None
    step_seconds: float
    timestamps: list[datetime] = Field(description="The evaluation times (one per step).")
    series: list[BacktestSeries]
    transitions: list[BacktestTransition]
    alerts: list[BacktestAlert] = Field(description="Each time it would have fired, in order.")
    truncated: bool = Field(description="True when the chart's series were cut to 50.")


def threshold_json(form: ThresholdForm) -> dict[str, Any]:
    return form.model_dump(mode="json")
