"""One route factory for a named, tenant-owned resource (a ``crud.Named`` kind): list (by name,
``q`` and ``enabled`` filters, cursor paging), create, get, update and delete under one path.

Viewers read; ``writer`` (a role dependency such as ``Admin`` or ``Developer``) changes. The
service does the work (uniqueness, audit, references); the routes parse, authorize, commit and
shape the answer. Operation ids and docstrings are given per resource, so the OpenAPI document
reads as if every route were written out.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.crud import Named
from agentdeck.identity.principal import Principal
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from agentdeck.server.deps import SessionDep, Viewer, parse_uuid

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Q = Annotated[str | None, Query(max_length=200, description="Name contains.")]


ListRows = Callable[..., Awaitable[tuple[list[Any], str | None]]]
CreateRow = Callable[[AsyncSession, Principal, Any], Awaitable[Any]]
UpdateRow = Callable[[AsyncSession, Principal, uuid.UUID, Any], Awaitable[Any]]
DeleteRow = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NamedRoutes:
    """What differs between two named resources' routes.

    ``noun`` is the resource's name, singular and plural (``("inhibition_rule",
    "inhibition_rules")``): the operation ids are ``list_<plural>``, ``create_<singular>``,
    ``get_…``, ``update_…``, ``delete_…``. ``docs`` are the routes' descriptions by ``list``,
    ``create``, ``get``, ``update``, ``delete``. ``ident`` is the path parameter's name
    (``rule_id``) and ``label`` the field named when it is not a UUID (``rule``)."""

    path: str
    ident: str
    label: str
    named: Named[Any]
    public: type[BaseModel]
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    writer: Any
    noun: tuple[str, str]
    docs: dict[str, str]
    list_rows: ListRows
    create_row: CreateRow
    update_row: UpdateRow
    delete_row: DeleteRow


def _signed(
    func: Callable[..., Any], params: list[tuple[str, Any]], name: str, doc: str
) -> Callable[..., Any]:
    """Give ``func`` (which takes its parameters as keywords) the signature FastAPI reads."""
    func.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a) for n, a in params]
    )
    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    return func


def add_named_routes(router: APIRouter, spec: NamedRoutes) -> None:
    """Register the five routes of ``spec`` on ``router``."""
    public: Any = spec.public
    item = f"{spec.path}/{{{spec.ident}}}"

    async def list_rows(
        principal: Viewer,
        session: SessionDep,
        q: Q = None,
        enabled: bool | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Any:
        rows, next_cursor = await spec.list_rows(
            session, tenant_id=principal.tenant_id, q=q, enabled=enabled, limit=limit, cursor=cursor
        )
        return Page[public](
            items=[public.of(r) for r in rows], next_cursor=next_cursor, limit=limit
        )

    async def create(**kw: Any) -> Any:
        row = await spec.create_row(kw["session"], kw["principal"], kw["body"])
        await kw["session"].commit()
        return public.of(row)

    async def get(**kw: Any) -> Any:
        principal: Principal = kw["principal"]
        ident = parse_uuid(kw[spec.ident], spec.label)
        return public.of(
            await spec.named.get(kw["session"], tenant_id=principal.tenant_id, ident=ident)
        )

    async def update(**kw: Any) -> Any:
        ident = parse_uuid(kw[spec.ident], spec.label)
        row = await spec.update_row(kw["session"], kw["principal"], ident, kw["body"])
        await kw["session"].commit()
        return public.of(row)

    async def delete(**kw: Any) -> None:
        await spec.delete_row(
            kw["session"], kw["principal"], parse_uuid(kw[spec.ident], spec.label)
        )
        await kw["session"].commit()

    list_rows.__name__ = list_rows.__qualname__ = f"list_{spec.noun[1]}"
    list_rows.__doc__ = spec.docs["list"]
    writer, session, ident = ("principal", spec.writer), ("session", SessionDep), (spec.ident, str)
    viewer = ("principal", Viewer)
    body_in, body_up = ("body", spec.create_model), ("body", spec.update_model)
    one = spec.noun[0]
    n = {verb: f"{verb}_{one}" for verb in ("create", "get", "update", "delete")}
    d = spec.docs
    router.add_api_route(spec.path, list_rows, methods=["GET"], response_model=Page[public])
    router.add_api_route(
        spec.path,
        _signed(create, [writer, session, body_in], n["create"], d["create"]),
        methods=["POST"],
        response_model=public,
        status_code=status.HTTP_201_CREATED,
    )
    router.add_api_route(
        item,
        _signed(get, [viewer, session, ident], n["get"], d["get"]),
        methods=["GET"],
        response_model=public,
    )
    router.add_api_route(
        item,
        _signed(update, [writer, session, ident, body_up], n["update"], d["update"]),
        methods=["PATCH"],
        response_model=public,
    )
    router.add_api_route(
        item,
        _signed(delete, [writer, session, ident], n["delete"], d["delete"]),
        methods=["DELETE"],
        status_code=status.HTTP_204_NO_CONTENT,
    )
