"""Inhibition rules: while a source alert fires, target alerts with equal ``equal`` labels are
muted (Alertmanager semantics: an alert never inhibits itself; a missing label equals "")."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck import crud
from agentdeck.alerting.models import InhibitionRule
from agentdeck.alerting.routing.matchers import (
    LABEL_NAME,
    Matcher,
    MatcherModel,
    from_dicts,
    matches_all,
)
from agentdeck.identity.principal import Principal

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
KIND = "inhibition_rule"  # audit resource type


def _label_names(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    for name in value:
        if not LABEL_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a label name")
    return list(dict.fromkeys(value))


class InhibitionRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    source_matchers: list[MatcherModel] = Field(min_length=1, max_length=50)
    target_matchers: list[MatcherModel] = Field(min_length=1, max_length=50)
    equal: list[str] = Field(default_factory=list, max_length=50)
    enabled: bool = True

    _equal = field_validator("equal")(_label_names)


class InhibitionRuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    source_matchers: list[MatcherModel] | None = Field(None, min_length=1, max_length=50)
    target_matchers: list[MatcherModel] | None = Field(None, min_length=1, max_length=50)
    equal: list[str] | None = Field(None, max_length=50)
    enabled: bool | None = None

    _equal = field_validator("equal")(_label_names)


class InhibitionRulePublic(BaseModel):
    id: uuid.UUID
    name: str
    source_matchers: list[MatcherModel]
    target_matchers: list[MatcherModel]
    equal: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: InhibitionRule) -> InhibitionRulePublic:
        return cls(
            id=r.id,
            name=r.name,
            source_matchers=[MatcherModel.model_validate(m) for m in r.source_matchers],
            target_matchers=[MatcherModel.model_validate(m) for m in r.target_matchers],
            equal=[str(e) for e in r.equal],
            enabled=r.enabled,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


def snapshot(r: InhibitionRule) -> dict[str, Any]:
    return {
        "name": r.name,
        "source_matchers": r.source_matchers,
        "target_matchers": r.target_matchers,
        "equal": r.equal,
        "enabled": r.enabled,
    }


RULES = crud.Named(InhibitionRule, what="inhibition rule", kind=KIND, snapshot=snapshot)


async def get_rule(
    session: AsyncSession, *, tenant_id: uuid.UUID, rule_id: uuid.UUID
) -> InhibitionRule:
    return await RULES.get(session, tenant_id=tenant_id, ident=rule_id)


async def create_rule(
    session: AsyncSession, *, actor: Principal, data: InhibitionRuleCreate
) -> InhibitionRule:
    await RULES.ensure_name_free(session, tenant_id=actor.tenant_id, name=data.name)
    row = InhibitionRule(
        tenant_id=actor.tenant_id,
        name=data.name,
        source_matchers=[m.model_dump() for m in data.source_matchers],
        target_matchers=[m.model_dump() for m in data.target_matchers],
        equal=list(data.equal),
        enabled=data.enabled,
    )
    return await RULES.insert(session, actor=actor, row=row)


async def update_rule(
    session: AsyncSession, *, actor: Principal, rule_id: uuid.UUID, data: InhibitionRuleUpdate
) -> InhibitionRule:
    row = await get_rule(session, tenant_id=actor.tenant_id, rule_id=rule_id)
    before = snapshot(row)
    await RULES.rename(session, tenant_id=actor.tenant_id, row=row, name=data.name)
    if data.source_matchers is not None:
        row.source_matchers = [m.model_dump() for m in data.source_matchers]
    if data.target_matchers is not None:
        row.target_matchers = [m.model_dump() for m in data.target_matchers]
    if data.equal is not None:
        row.equal = list(data.equal)
    if data.enabled is not None:
        row.enabled = data.enabled
    return await RULES.save(session, actor=actor, row=row, before=before)


async def delete_rule(session: AsyncSession, *, actor: Principal, rule_id: uuid.UUID) -> None:
    row = await get_rule(session, tenant_id=actor.tenant_id, rule_id=rule_id)
    await RULES.remove(session, actor=actor, row=row)


# --- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledInhibition:
    id: uuid.UUID
    name: str
    source: list[Matcher]
    target: list[Matcher]
    equal: tuple[str, ...]


async def enabled_rules(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[CompiledInhibition]:
    rows = await session.scalars(
        select(InhibitionRule).where(
            InhibitionRule.tenant_id == tenant_id, InhibitionRule.enabled.is_(True)
        )
    )
    return [
        CompiledInhibition(
            r.id,
            r.name,
            from_dicts(r.source_matchers),
            from_dicts(r.target_matchers),
            tuple(str(e) for e in r.equal),
        )
        for r in rows
    ]


def inhibitions(
    rules: Sequence[CompiledInhibition],
    firing: Sequence[tuple[str, Mapping[str, Any]]],
) -> dict[str, list[str]]:
    """For each firing alert id, the ids of the firing alerts that inhibit it (if any)."""
    out: dict[str, list[str]] = {}
    for rule in rules:
        sources: dict[tuple[str, ...], list[str]] = {}
        for alert_id, labels in firing:
            if matches_all(rule.source, labels):
                key = tuple(str(labels.get(n, "")) for n in rule.equal)
                sources.setdefault(key, []).append(alert_id)
        if not sources:
            continue
        for alert_id, labels in firing:
            if not matches_all(rule.target, labels):
                continue
            key = tuple(str(labels.get(n, "")) for n in rule.equal)
            by = [s for s in sources.get(key, []) if s != alert_id]
            if by:
                seen = out.setdefault(alert_id, [])
                seen.extend(s for s in by if s not in seen)
    return out
