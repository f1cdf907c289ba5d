"""The templates API: the tenant's log templates with counts, samples and rate trends.

Open to viewers; each tenant sees its own templates only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from agentdeck.errors import Unavailable
from agentdeck.logintel.templates.schemas import TemplatePage, TemplatePublic
from agentdeck.logintel.templates.service import Sort, TemplateRegistry
from agentdeck.server.deps import StateDep, Viewer
from agentdeck.server.state import AppState

router = APIRouter(prefix="/api/v1/logs/templates", tags=["logs"])

MAX_LIMIT = 500


def _registry(state: AppState) -> TemplateRegistry:
    if state.templates is None:
        raise Unavailable("template mining is off (logintel.mining_enabled)", kind="mining-off")
    return state.templates


@router.get("", operation_id="list_log_templates", response_model=TemplatePage)
async def list_log_templates(
    principal: Viewer,
    state: StateDep,
    service: Annotated[
        str | None, Query(max_length=256, description="Only templates this service wrote.")
    ] = None,
    search: Annotated[
        str | None,
        Query(max_length=512, description="Only templates containing this text (any case)."),
    ] = None,
    sort: Annotated[
        Sort,
        Query(
            description="count: most lines first; newest: newest first; rising: fastest "
            "growing this hour against its own hourly mean first."
        ),
    ] = "count",
    cursor: Annotated[
        str | None, Query(max_length=256, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> TemplatePage:
    """The tenant's log templates, paged. Lines of one: `GET /api/v1/logs?template=<id>`."""
    views, next_cursor = _registry(state).page(
        principal.tenant_id, service=service, search=search, sort=sort, cursor=cursor, limit=limit
    )
    return TemplatePage(
        items=[TemplatePublic.of(v) for v in views], next_cursor=next_cursor, limit=limit
    )


@router.get("/{template_id}", operation_id="get_log_template", response_model=TemplatePublic)
async def get_log_template(
    principal: Viewer,
    state: StateDep,
    template_id: Annotated[int, Path(ge=1, le=2**62)],
) -> TemplatePublic:
    """One template; a merged id answers with the template it went into. 404 when unknown."""
    return TemplatePublic.of(_registry(state).get(principal.tenant_id, template_id))
