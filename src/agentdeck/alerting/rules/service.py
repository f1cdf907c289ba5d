"""Alert rule logic: tenant-scoped queries, expression checks, optimistic concurrency, audit.

Services flush; the caller commits. Every query filters on the caller's tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.alerting.models import AlertRule, AlertRuleState, Severity
from agentdeck.alerting.routing.receivers import ensure_channels
from agentdeck.alerting.rules.compile import Condition, Threshold, condition_of
from agentdeck.alerting.rules.schemas import (
    AlertRuleCreate,
    AlertRuleUpdate,
    CompiledExpr,
    ThresholdForm,
    threshold_json,
)
from agentdeck.db.base import utcnow
from agentdeck.errors import (
    invalid,
    malformed,
)
from agentdeck.identity.principal import Principal
from agentdeck.pagination import fetch_page, require_cursor
from agentdeck.tsdb.promql import PromQLError

RESOURCE = "alert_rule"
UPDATE_ATTEMPTS = 5

_COLUMNS: dict[str, Any] = {
    "name": AlertRule.name,
    "group": AlertRule.group_name,
    "description": AlertRule.description,
    "expr": AlertRule.expr,
    "threshold": AlertRule.threshold,
    "for_seconds": AlertRule.for_seconds,
    "keep_firing_for_seconds": AlertRule.keep_firing_for_seconds,
    "severity": AlertRule.severity,
    "labels": AlertRule.labels,
    "annotations": AlertRule.annotations,
    "enabled": AlertRule.enabled,
    "interval_seconds": AlertRule.interval_seconds,
    "no_data_state": AlertRule.no_data_state,
    "channel_ids": AlertRule.channel_ids,
}


# --- expressions ----------------------------------------------------------------------------


def checked_condition(expr: str) -> Condition:
    """The expression's preview split; a parse error is a 400 naming ``expr``."""
    try:
        return condition_of(expr)
    except PromQLError as exc:
        raise malformed("invalid-expr", ["body", "expr"], str(exc)) from None


def compile_expr(*, expr: str | None, threshold: ThresholdForm | None) -> CompiledExpr:
    """The PromQL of a rule (compiled from the threshold form if given) and its preview."""
    if threshold is not None:
        expr = threshold.compiled().expr()
    assert expr is not None
    condition = checked_condition(expr)
    return CompiledExpr(
        expr=expr,
        series_expr=condition.series_expr,
        operator=condition.operator,
        threshold=condition.threshold,
    )


# --- reads ----------------------------------------------------------------------------------


def _tenant_rules(tenant_id: uuid.UUID) -> Select[Any]:
    return select(AlertRule).where(AlertRule.tenant_id == tenant_id)


async def get_rule(session: AsyncSession, *, tenant_id: uuid.UUID, rule_id: uuid.UUID) -> AlertRule:
    """The tenant's rule, fresh from the database; another tenant's id is not found."""
    return await crud.get_owned(
        session, AlertRule, tenant_id=tenant_id, ident=rule_id, what="alert rule", fresh=True
    )


async def series_states(
    session: AsyncSession, *, tenant_id: uuid.UUID, rule_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """How many series of each rule are pending, firing, nodata or error right now."""
    if not rule_ids:
        return {}
    rows = await session.execute(
        select(AlertRuleState.rule_id, AlertRuleState.state, func.count())
        .where(AlertRuleState.tenant_id == tenant_id, AlertRuleState.rule_id.in_(list(rule_ids)))
        .group_by(AlertRuleState.rule_id, AlertRuleState.state)
    )
    out: dict[uuid.UUID, dict[str, int]] = {}
    for rule_id, state, count in rows.all():
        out.setdefault(rule_id, {})[str(state)] = int(count)
    return out


async def list_rules(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    q: str | None = None,
    severities: Collection[Severity] | None = None,
    enabled: bool | None = None,
    group: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[AlertRule], str | None]:
    """One page of the tenant's rules by name, matching every filter given."""
    stmt = _tenant_rules(tenant_id)
    if q:
        stmt = stmt.where(
            AlertRule.name.icontains(q, autoescape=True)
            | AlertRule.description.icontains(q, autoescape=True)
            | AlertRule.expr.icontains(q, autoescape=True)
        )
    if severities:
        stmt = stmt.where(AlertRule.severity.in_(list(severities)))
    if enabled is not None:
        stmt = stmt.where(AlertRule.enabled.is_(enabled))
    if group is not None:
        stmt = stmt.where(AlertRule.group_name == group)
    require_cursor(cursor, of=str)
    return await fetch_page(
        session,
        stmt,
        order=(AlertRule.name, AlertRule.id),
        cursor=cursor,
        limit=limit,
        descending=False,
    )


async def all_rules(
    session: AsyncSession, *, tenant_id: uuid.UUID, group: str | None = None
) -> list[AlertRule]:
    """Every rule of the tenant (export; bounded by what a tenant can create)."""
    stmt = _tenant_rules(tenant_id).order_by(AlertRule.group_name, AlertRule.name)
    if group is not None:
        stmt = stmt.where(AlertRule.group_name == group)
    return list((await session.scalars(stmt)).all())


# --- writes ---------------------------------------------------------------------------------


def snapshot(rule: AlertRule) -> dict[str, Any]:
    """The audited fields of a rule."""
    return {
        "name": rule.name,
        "group": rule.group_name,
        "description": rule.description,
        "expr": rule.expr,
        "threshold": rule.threshold,
        "for_seconds": rule.for_seconds,
        "keep_firing_for_seconds": rule.keep_firing_for_seconds,
        "severity": rule.severity,
        "labels": rule.labels,
        "annotations": rule.annotations,
        "enabled": rule.enabled,
        "interval_seconds": rule.interval_seconds,
        "no_data_state": rule.no_data_state,
        "channel_ids": rule.channel_ids,
        "revision": rule.revision,
    }


NAME = crud.Unique(AlertRule, "an alert rule named {!r} already exists in this tenant")


async def rule_by_name(
    session: AsyncSession, *, tenant_id: uuid.UUID, name: str
) -> AlertRule | None:
    return cast(
        AlertRule | None,
        await session.scalar(_tenant_rules(tenant_id).where(AlertRule.name == name)),
    )


def _default_annotations(threshold: dict[str, Any] | None) -> dict[str, str]:
    return Threshold.of(threshold).default_annotations() if threshold else {}


def with_default_annotations(
    annotations: dict[str, str],
    threshold: dict[str, Any] | None,
    *,
    previous: dict[str, Any] | None = None,
) -> dict[str, str]:
    """A threshold rule's annotations with the default ``summary``/``description`` (value,
    threshold and agent) where it sets none. Defaults generated for ``previous`` (the form
    before an update) that were left as generated follow the new form, or go when the rule is
    no longer a threshold rule; annotations written by hand are kept."""
    out = dict(annotations)
    for key, stale in _default_annotations(previous).items():
        if out.get(key) == stale:
            del out[key]
    for key, default in _default_annotations(threshold).items():
        out.setdefault(key, default)
    return out


def new_rule(
    data: AlertRuleCreate, *, tenant_id: uuid.UUID, created_by: uuid.UUID | None
) -> AlertRule:
    """An unsaved, checked rule row from a create request."""
    compiled = compile_expr(expr=data.expr, threshold=data.threshold)
    threshold = threshold_json(data.threshold) if data.threshold else None
    now = utcnow()
    return AlertRule(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=data.name,
        group_name=data.group,
        description=data.description,
        expr=compiled.expr,
        threshold=threshold,
        for_seconds=data.for_seconds,
        keep_firing_for_seconds=data.keep_firing_for_seconds,
        severity=data.severity,
        labels=dict(data.labels),
        annotations=with_default_annotations(dict(data.annotations), threshold),
        enabled=data.enabled,
        interval_seconds=data.interval_seconds,
        no_data_state=data.no_data_state,
        channel_ids=[str(c) for c in data.channel_ids],
        created_by=created_by,
        revision=1,
        health="unknown",
        created_at=now,
        updated_at=now,
    )


async def create_rule(
    session: AsyncSession, *, actor: Principal, data: AlertRuleCreate, action: str = "create"
) -> AlertRule:
    """Add a rule to the caller's tenant (409 on a taken name, 400 on a bad expression, 422
    naming each channel id that is not one of the tenant's channels)."""
    rule = new_rule(data, tenant_id=actor.tenant_id, created_by=actor.user_id)
    await ensure_channels(
        session, tenant_id=actor.tenant_id, ids=data.channel_ids, field="channel_ids"
    )
    await NAME.ensure_free(session, tenant_id=actor.tenant_id, value=rule.name)
    return await crud.insert(
        session,
        actor=actor,
        row=rule,
        kind=RESOURCE,
        snapshot=snapshot,
        unique=NAME,
        verb=action,
    )


def _changes(data: AlertRuleUpdate) -> dict[str, Any]:
    """The fields sent, as column values; `expr`/`threshold` resolved into both columns."""
    out: dict[str, Any] = {}
    for field in data.model_fields_set:
        value = getattr(data, field)
        if field in ("expr", "threshold"):
            continue
        if field == "channel_ids":
            value = [str(c) for c in value]
        out[field] = value
    if data.threshold is not None:
        compiled = compile_expr(expr=None, threshold=data.threshold)
        out["expr"] = compiled.expr
        out["threshold"] = threshold_json(data.threshold)
    elif data.expr is not None:
        compile_expr(expr=data.expr, threshold=None)
        out["expr"] = data.expr
        out["threshold"] = None
    elif "threshold" in data.model_fields_set:
        raise invalid(
            "validation-error",
            ["body", "threshold"],
            "to turn a threshold rule into a PromQL rule, send expr instead of threshold=null",
        )
    return out


async def update_rule(
    session: AsyncSession,
    *,
    actor: Principal,
    rule_id: uuid.UUID,
    data: AlertRuleUpdate,
    expected_revisions: Collection[int] | None = None,
) -> AlertRule:
    """Apply a partial update; bumps the revision when anything changed (If-Match honoured)."""
    tenant_id = actor.tenant_id
    wanted = _changes(data)
    if data.channel_ids:
        await ensure_channels(
            session, tenant_id=tenant_id, ids=data.channel_ids, field="channel_ids"
        )

    def with_defaults(before: dict[str, Any]) -> dict[str, Any]:
        if "threshold" not in wanted and "annotations" not in wanted:
            return wanted
        return {  # the default annotations follow the form
            **wanted,
            "annotations": with_default_annotations(
                wanted.get("annotations", before["annotations"] or {}),
                wanted.get("threshold", before["threshold"]),
                previous=before["threshold"],
            ),
        }

    return await crud.update_revised(
        session,
        actor=actor,
        model=AlertRule,
        ident=rule_id,
        expected=expected_revisions,
        what="alert rule",
        kind=RESOURCE,
        snapshot=snapshot,
        columns=_COLUMNS,
        wanted=with_defaults,
        unique=NAME,
        attempts=UPDATE_ATTEMPTS,
    )


async def delete_rule(
    session: AsyncSession,
    *,
    actor: Principal,
    rule_id: uuid.UUID,
    expected_revisions: Collection[int] | None = None,
) -> None:
    """Delete the tenant's rule (its alerts stay, detached); If-Match honoured."""
    rule = await get_rule(session, tenant_id=actor.tenant_id, rule_id=rule_id)
    await crud.delete_audited(
        session,
        actor=actor,
        row=rule,
        expected=expected_revisions,
        what="alert rule",
        kind=RESOURCE,
        snapshot=snapshot,
    )
