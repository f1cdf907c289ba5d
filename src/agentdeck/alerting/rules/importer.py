"""Importing a Prometheus rule file into a tenant: per-rule errors, dry run, skip or replace."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.rules import promfile
from agentdeck.alerting.rules.schemas import (
    AlertRuleUpdate,
    ImportError_,
    ImportMode,
    RuleFileImport,
    RuleFileImportResult,
)
from agentdeck.alerting.rules.service import compile_expr, create_rule, rule_by_name, update_rule
from agentdeck.errors import DomainError, malformed
from agentdeck.identity.principal import Principal


async def import_rule_file(
    session: AsyncSession, *, actor: Principal, data: RuleFileImport
) -> RuleFileImportResult:
    """Create (or replace) the file's rules; bad rules are reported and the good ones kept.

    A file that is not a rule file at all is a 400 naming ``content``.
    """
    try:
        parsed = promfile.parse_rule_file(data.content)
    except promfile.RuleFileError as exc:
        raise malformed("invalid-rule-file", ["body", "content"], str(exc)) from None
    errors = list(parsed.errors)
    created: list[str] = []
    replaced: list[str] = []
    skipped: list[str] = []
    for rule in parsed.rules:
        try:
            compile_expr(expr=rule.expr, threshold=None)
        except DomainError as exc:
            errors.append(
                ImportError_(
                    group=rule.group,
                    index=None,
                    name=rule.name,
                    field="expr",
                    message=exc.detail or "",
                )
            )
            continue
        existing = await rule_by_name(session, tenant_id=actor.tenant_id, name=rule.name)
        if existing is None:
            if not data.dry_run:
                await create_rule(session, actor=actor, data=rule, action="import")
            created.append(rule.name)
        elif data.on_conflict is ImportMode.skip:
            skipped.append(rule.name)
        else:
            if not data.dry_run:
                update = AlertRuleUpdate(
                    group=rule.group,
                    expr=rule.expr,
                    for_seconds=rule.for_seconds,
                    keep_firing_for_seconds=rule.keep_firing_for_seconds,
                    severity=rule.severity,
                    labels=rule.labels,
                    annotations=rule.annotations,
                    interval_seconds=rule.interval_seconds,
                )
                await update_rule(session, actor=actor, rule_id=existing.id, data=update)
            replaced.append(rule.name)
    return RuleFileImportResult(
        dry_run=data.dry_run, created=created, replaced=replaced, skipped=skipped, errors=errors
    )
