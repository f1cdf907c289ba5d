"""Steps shared by the services of tenant-owned resources.

Fetch one row of the caller's tenant or 404, keep names unique within a tenant, page a
tenant's rows by name, write a row together with its audit entry, and write or delete a row
at the revision read (If-Match). The domain services stay
explicit about their fields and rules; only the steps that are the same everywhere live here.
Like the services, these flush and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from agentdeck.audit.service import record
from agentdeck.db.base import Base, utcnow
from agentdeck.errors import DomainError, PreconditionFailed, conflict, not_found
from agentdeck.identity.principal import Principal
from agentdeck.pagination import apply_cursor, page_of, require_cursor

R = TypeVar("R", bound=Base)
Snapshot = Callable[[R], dict[str, Any]]


def _column(model: type[Base], name: str) -> InstrumentedAttribute[Any]:
    """A mapped column of ``model`` that the helpers rely on (``id``, ``tenant_id``, ``name``)."""
    column = getattr(model, name, None)
    if not isinstance(column, InstrumentedAttribute):
        raise TypeError(f"{model.__name__} has no mapped column {name!r}")
    return column


def _id(row: Base) -> uuid.UUID:
    return cast(uuid.UUID, row.id)  # type: ignore[attr-defined]


def _value(row: Base, name: str) -> Any:
    return getattr(row, name)


async def get_owned(
    session: AsyncSession,
    model: type[R],
    *,
    tenant_id: uuid.UUID,
    ident: uuid.UUID,
    what: str,
    fresh: bool = False,
) -> R:
    """The tenant's row with this id; another tenant's id is "not found" (``what`` names it).

    ``fresh`` reloads a row the session already holds from the database (a read before an
    If-Match write must see another request's committed revision)."""
    stmt = select(model).where(
        _column(model, "tenant_id") == tenant_id, _column(model, "id") == ident
    )
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    row = await session.scalar(stmt)
    if row is None:
        raise not_found(what, ident)
    return row


async def ensure_name_free(
    session: AsyncSession,
    model: type[R],
    *,
    tenant_id: uuid.UUID,
    name: str,
    taken: str,
    except_id: uuid.UUID | None = None,
    field: str = "name",
) -> None:
    """409 naming ``field`` (detail ``taken``) when another row of the tenant has the value
    ``name`` in that column (``name`` by default; a scrape target's ``url``, ...)."""
    id_column = _column(model, "id")
    stmt = select(id_column).where(
        _column(model, "tenant_id") == tenant_id, _column(model, field) == name
    )
    if except_id is not None:
        stmt = stmt.where(id_column != except_id)
    if await session.scalar(stmt) is not None:
        raise conflict(taken, field=field)


async def flush_unique(session: AsyncSession, taken: Callable[[], DomainError]) -> None:
    """Flush; a unique violation (a concurrent create of the same name) becomes ``taken()``."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise taken() from exc


async def list_by_name(
    session: AsyncSession,
    model: type[R],
    *,
    tenant_id: uuid.UUID,
    q: str | None,
    where: Iterable[ColumnElement[bool]] = (),
    keep: Callable[[R], bool] | None = None,
    limit: int,
    cursor: str | None,
    scan: int = 10_000,
) -> tuple[list[R], str | None]:
    """One page of the tenant's rows by name (``q``: name contains), and the next cursor.

    ``where`` filters in SQL; ``keep`` filters in Python over at most ``scan`` rows.
    """
    name = _column(model, "name")
    stmt = select(model).where(_column(model, "tenant_id") == tenant_id, *where)
    if q:
        stmt = stmt.where(name.icontains(q, autoescape=True))
    stmt = apply_cursor(
        stmt,
        sort_column=name,
        id_column=_column(model, "id"),
        cursor=cursor,
        limit=limit if keep is None else scan,
        descending=False,
    )
    rows: list[R] = list((await session.scalars(stmt)).all())
    if keep is not None:
        rows = [r for r in rows if keep(r)]
    return page_of(rows, limit=limit, sort_attr="name")


def require_time_cursor(cursor: str | None) -> None:
    """400 unless the cursor is one of a list sorted by time (a name cursor is stale here)."""
    require_cursor(cursor, of=datetime)


async def insert(
    session: AsyncSession, *, actor: Principal, row: R, kind: str, snapshot: Snapshot[R]
) -> R:
    """Add the row, flush, audit ``<kind>.create`` with its snapshot."""
    session.add(row)
    await session.flush()
    await record(
        session,
        actor=actor,
        action=f"{kind}.create",
        resource_type=kind,
        resource_id=_id(row),
        after=snapshot(row),
    )
    return row


async def save(
    session: AsyncSession,
    *,
    actor: Principal,
    row: R,
    kind: str,
    before: dict[str, Any],
    snapshot: Snapshot[R],
    verb: str = "update",
) -> R:
    """Flush the changed row, audit ``<kind>.<verb>`` with the snapshots before and after."""
    await session.flush()
    await record(
        session,
        actor=actor,
        action=f"{kind}.{verb}",
        resource_type=kind,
        resource_id=_id(row),
        before=before,
        after=snapshot(row),
    )
    return row


async def remove(
    session: AsyncSession, *, actor: Principal, row: R, kind: str, snapshot: Snapshot[R]
) -> None:
    """Delete the row, flush, audit ``<kind>.delete`` with its last snapshot."""
    ident, before = _id(row), snapshot(row)
    await session.delete(row)
    await session.flush()
    await record(
        session,
        actor=actor,
        action=f"{kind}.delete",
        resource_type=kind,
        resource_id=ident,
        before=before,
    )


def stale(what: str, ident: uuid.UUID) -> PreconditionFailed:
    """412: the row's revision is not one the If-Match header named."""
    return PreconditionFailed(
        f"{what} {ident} has changed since the ETag in If-Match; fetch it again and retry"
    )


def check_revision(row: Base, expected: Collection[int] | None, *, what: str) -> None:
    """412 unless ``expected`` (If-Match revisions, when sent) holds the row's revision."""
    if expected is not None and _value(row, "revision") not in expected:
        raise stale(what, _id(row))


async def write_revision(
    session: AsyncSession,
    row: R,
    values: dict[Any, Any],
    *,
    expected: Collection[int] | None,
    what: str,
    taken: DomainError,
) -> bool:
    """Write ``values`` (column: value) to ``row`` if its revision is still the one read,
    bumping the revision and ``updated_at``. False when another writer came first and nothing
    was written (412 instead when If-Match revisions were ``expected``); ``taken`` is raised
    when a unique name is taken."""
    model = type(row)
    revision = _value(row, "revision")
    stmt = (
        update(model)
        .where(
            _column(model, "id") == _id(row),
            _column(model, "tenant_id") == _value(row, "tenant_id"),
            _column(model, "revision") == revision,
        )
        .values(
            {
                **values,
                _column(model, "revision"): revision + 1,
                _column(model, "updated_at"): utcnow(),
            }
        )
        .execution_options(synchronize_session=False)
    )
    try:
        result = cast(CursorResult[Any], await session.execute(stmt))
    except IntegrityError as exc:
        raise taken from exc
    if result.rowcount == 0 and expected is not None:
        raise stale(what, _id(row))
    return result.rowcount != 0


async def delete_revision(
    session: AsyncSession, row: Base, *, expected: Collection[int] | None, what: str
) -> None:
    """Delete ``row`` (at the revision read, when If-Match revisions were ``expected``): 412
    when it changed since, 404 when it is gone. The row leaves the session."""
    model = type(row)
    stmt = delete(model).where(
        _column(model, "id") == _id(row), _column(model, "tenant_id") == _value(row, "tenant_id")
    )
    if expected is not None:
        stmt = stmt.where(_column(model, "revision") == _value(row, "revision"))
    result = cast(
        CursorResult[Any], await session.execute(stmt.execution_options(synchronize_session=False))
    )
    if result.rowcount == 0:
        if expected is not None:
            raise stale(what, _id(row))
        raise not_found(what, _id(row))
    session.expunge(row)


@dataclass(frozen=True, slots=True)
class Named(Generic[R]):
    """A kind of named, tenant-owned row with the steps above bound to it: ``what`` names it in
    messages ("inhibition rule"), ``kind`` in the audit log."""

    model: type[R]
    what: str
    kind: str
    snapshot: Snapshot[R]

    async def get(self, session: AsyncSession, *, tenant_id: uuid.UUID, ident: uuid.UUID) -> R:
        return await get_owned(
            session, self.model, tenant_id=tenant_id, ident=ident, what=self.what
        )

    async def page(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        q: str | None,
        enabled: bool | None = None,
        where: Iterable[ColumnElement[bool]] = (),
        keep: Callable[[R], bool] | None = None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[R], str | None]:
        """``list_by_name`` for this kind; ``enabled`` filters on its ``enabled`` column."""
        if enabled is not None:
            where = [*where, _column(self.model, "enabled") == enabled]
        return await list_by_name(
            session,
            self.model,
            tenant_id=tenant_id,
            q=q,
            where=where,
            keep=keep,
            limit=limit,
            cursor=cursor,
        )

    async def ensure_name_free(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        name: str,
        except_id: uuid.UUID | None = None,
    ) -> None:
        article = "an" if self.what[:1] in "aeiou" else "a"
        await ensure_name_free(
            session,
            self.model,
            tenant_id=tenant_id,
            name=name,
            except_id=except_id,
            taken=f"{article} {self.what} named {name!r} already exists",
        )

    async def rename(
        self, session: AsyncSession, *, tenant_id: uuid.UUID, row: R, name: str | None
    ) -> None:
        """Give ``row`` the new ``name`` (None or the same: nothing), 409 when it is taken."""
        current = cast(str, row.name)  # type: ignore[attr-defined]
        if name is None or name == current:
            return
        await self.ensure_name_free(session, tenant_id=tenant_id, name=name, except_id=_id(row))
        row.name = name  # type: ignore[attr-defined]

    async def insert(self, session: AsyncSession, *, actor: Principal, row: R) -> R:
        return await insert(session, actor=actor, row=row, kind=self.kind, snapshot=self.snapshot)

    async def save(
        self, session: AsyncSession, *, actor: Principal, row: R, before: dict[str, Any]
    ) -> R:
        return await save(
            session, actor=actor, row=row, kind=self.kind, before=before, snapshot=self.snapshot
        )

    async def remove(self, session: AsyncSession, *, actor: Principal, row: R) -> None:
        await remove(session, actor=actor, row=row, kind=self.kind, snapshot=self.snapshot)
