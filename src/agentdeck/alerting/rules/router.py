"""HTTP routes of alert rules: `/api/v1/alert-rules`.

Optimistic concurrency as for agents: responses carry the rule's revision as a strong ETag;
`GET` honours `If-None-Match` (304), `PATCH` and `DELETE` honour `If-Match` (412 when stale).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from agentdeck.alerting.models import Severity
from agentdeck.alerting.rules import defaults, promfile, service
from agentdeck.alerting.rules.backtest import backtest
from agentdeck.alerting.rules.importer import import_rule_file
from agentdeck.alerting.rules.schemas import (
    AlertRuleCreate,
    AlertRulePublic,
    AlertRuleUpdate,
    BacktestRequest,
    BacktestResult,
    CompiledExpr,
    CompileRequest,
    DefaultPackResult,
    RuleFileImport,
    RuleFileImportResult,
)
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import Developer, SessionDep, StoreDep, Viewer, parse_uuid
from agentdeck.server.errors import field_error
from agentdeck.server.etags import expected_revisions, tag, tag_or_not_modified
from agentdeck.tsdb.promql import PromQLError

router = APIRouter(prefix="/api/v1/alert-rules", tags=["alert-rules"])

_ETAG_HEADER = {"ETag": {"description": 'The rule\'s revision as a strong ETag, e.g. "3".'}}
_IF_MATCH = Header(description="The ETag you read; 412 if the rule changed since. Optional.")


@router.get("", response_model=Page[AlertRulePublic], operation_id="list_alert_rules")
async def list_alert_rules(
    principal: Viewer,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Name, description or expr contains (any case)."),
    ] = None,
    severity: Annotated[list[Severity] | None, Query(description="Repeatable.")] = None,
    enabled: bool | None = None,
    group: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AlertRulePublic]:
    """The tenant's alert rules by name, filtered and paged."""
    rows, next_cursor = await service.list_rules(
        session,
        tenant_id=principal.tenant_id,
        q=q,
        severities=severity,
        enabled=enabled,
        group=group,
        limit=limit,
        cursor=cursor,
    )
    states = await service.series_states(
        session, tenant_id=principal.tenant_id, rule_ids=[r.id for r in rows]
    )
    return Page[AlertRulePublic](
        items=[AlertRulePublic.of(r, states.get(r.id)) for r in rows],
        next_cursor=next_cursor,
        limit=limit,
    )


@router.post(
    "",
    response_model=AlertRulePublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_alert_rule",
    responses={201: {"headers": _ETAG_HEADER}},
)
async def create_alert_rule(
    principal: Developer, session: SessionDep, body: AlertRuleCreate, response: Response
) -> AlertRulePublic:
    """Add a rule (PromQL `expr` or the `threshold` form); 400 names `expr` if it does not parse."""
    rule = await service.create_rule(session, actor=principal, data=body)
    await session.commit()
    tag(response, rule.revision)
    response.headers["Location"] = f"{router.prefix}/{rule.id}"
    return AlertRulePublic.of(rule)


@router.post("/compile", response_model=CompiledExpr, operation_id="compile_alert_rule")
async def compile_alert_rule(principal: Viewer, body: CompileRequest) -> CompiledExpr:
    """The PromQL of a threshold form (or a checked expr), split for the preview chart."""
    return service.compile_expr(expr=body.expr, threshold=body.threshold)


@router.post("/test", response_model=BacktestResult, operation_id="test_alert_rule")
async def test_alert_rule(
    principal: Viewer, store: StoreDep, body: BacktestRequest
) -> BacktestResult:
    """Backtest: replay the rule over `[start, end]` and list when it would have fired."""
    compiled = service.compile_expr(expr=body.rule.expr, threshold=body.rule.threshold)
    try:
        return await backtest(
            store,
            principal.tenant_id,
            rule=body.rule,
            compiled=compiled,
            start=body.start,
            end=body.end,
            max_steps=body.max_steps,
        )
    except PromQLError as exc:
        raise field_error(400, "invalid-expr", ["body", "rule", "expr"], str(exc)) from None


@router.post(
    "/default-pack", response_model=DefaultPackResult, operation_id="install_default_alert_rules"
)
async def install_default_alert_rules(
    principal: Developer, session: SessionDep
) -> DefaultPackResult:
    """Add the default rules (CPU, memory, error rate, p95 latency) the tenant lacks."""
    result = await defaults.install_default_pack(
        session, tenant_id=principal.tenant_id, actor=principal
    )
    await session.commit()
    return result


@router.post("/import", response_model=RuleFileImportResult, operation_id="import_alert_rules")
async def import_alert_rules(
    principal: Developer, session: SessionDep, body: RuleFileImport
) -> RuleFileImportResult:
    """Import a Prometheus rule file: per-rule errors, good rules kept; `dry_run` writes nothing."""
    result = await import_rule_file(session, actor=principal, data=body)
    if body.dry_run:
        await session.rollback()
    else:
        await session.commit()
    return result


#: The rule file's shape (a YAML document; clients that parse YAML, as schemathesis does, check
#: the parsed document against this).
_RULE_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["groups"],
    "properties": {
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "rules"],
                "properties": {
                    "name": {"type": "string"},
                    "interval": {"type": "string"},
                    "rules": {"type": "array", "items": {"type": "object"}},
                },
            },
        }
    },
}
_YAML: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/yaml": {"schema": _RULE_FILE_SCHEMA}},
        "description": "A Prometheus rule file.",
    }
}


@router.get(
    "/export",
    response_class=Response,
    responses=_YAML,
    operation_id="export_alert_rules",
)
async def export_alert_rules(
    principal: Viewer,
    session: SessionDep,
    group: Annotated[str | None, Query(max_length=200)] = None,
    include_disabled: Annotated[
        bool, Query(description="Disabled rules are left out unless this is true.")
    ] = False,
) -> Response:
    """The tenant's rules as a Prometheus rule file (YAML download)."""
    rules = await service.all_rules(session, tenant_id=principal.tenant_id, group=group)
    if not include_disabled:
        rules = [r for r in rules if r.enabled]
    return Response(
        promfile.export_rule_file(rules),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="alert-rules.yml"'},
    )


@router.get(
    "/{rule_id}",
    response_model=AlertRulePublic,
    operation_id="get_alert_rule",
    responses={200: {"headers": _ETAG_HEADER}, 304: {"description": "Unchanged."}},
)
async def get_alert_rule(
    principal: Viewer,
    session: SessionDep,
    rule_id: str,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> AlertRulePublic | Response:
    """One rule with its ETag; 304 when `If-None-Match` names the current revision."""
    rule = await service.get_rule(
        session, tenant_id=principal.tenant_id, rule_id=parse_uuid(rule_id, "rule_id")
    )
    if (unchanged := tag_or_not_modified(response, rule.revision, if_none_match)) is not None:
        return unchanged
    states = await service.series_states(session, tenant_id=principal.tenant_id, rule_ids=[rule.id])
    return AlertRulePublic.of(rule, states.get(rule.id))


@router.patch(
    "/{rule_id}",
    response_model=AlertRulePublic,
    operation_id="update_alert_rule",
    responses={200: {"headers": _ETAG_HEADER}},
)
async def update_alert_rule(
    principal: Developer,
    session: SessionDep,
    rule_id: str,
    body: AlertRuleUpdate,
    response: Response,
    if_match: Annotated[str | None, _IF_MATCH] = None,
) -> AlertRulePublic:
    """Change some fields of a rule (e.g. `enabled`); `labels`/`annotations` replace whole."""
    rule = await service.update_rule(
        session,
        actor=principal,
        rule_id=parse_uuid(rule_id, "rule_id"),
        data=body,
        expected_revisions=expected_revisions(if_match),
    )
    await session.commit()
    tag(response, rule.revision)
    return AlertRulePublic.of(rule)


@router.delete(
    "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_alert_rule"
)
async def delete_alert_rule(
    principal: Developer,
    session: SessionDep,
    rule_id: str,
    if_match: Annotated[str | None, _IF_MATCH] = None,
) -> None:
    """Delete a rule (its past alerts stay); honours `If-Match` like PATCH."""
    await service.delete_rule(
        session,
        actor=principal,
        rule_id=parse_uuid(rule_id, "rule_id"),
        expected_revisions=expected_revisions(if_match),
    )
    await session.commit()
