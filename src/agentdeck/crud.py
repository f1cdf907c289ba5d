"""Steps shared by the services of tenant-owned resources.

Fetch one row of the caller's tenant or 404, keep names unique within a tenant, page a
tenant's rows by name, write a row together with its audit entry, and update or delete a row
at the revision read (If-Match, retried on a concurrent writer). The domain services stay
explicit about their fields and rules; only the steps that are the same everywhere live here.
Like the services, these flush and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
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
from agentdeck.pagination import fetch_page, require_cursor

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
    return await fetch_page(
        session,
        stmt,
        order=(name, _column(model, "id")),
        cursor=cursor,
        limit=limit,
        descending=False,
        keep=keep,
        scan=scan,
    )


@dataclass(frozen=True, slots=True)
class Unique(Generic[R]):
    """A column of ``model`` whose values are unique within a tenant (a name, a URL, the agent
    of the deployment under way): the 409 that names it, its check before a write, and the
    flush that turns a lost race (a concurrent write of the same value) into the same 409.
    ``message`` formats the value into the detail; ``held``, when given, builds the 409 from
    the row that holds the value instead (both before the write and after a lost race)."""

    model: type[R]
    message: str
    field: str = "name"
    held: Callable[[R], DomainError] | None = None

    def taken(self, value: object) -> DomainError:
        return conflict(self.message.format(value), field=self.field)

    async def ensure_free(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        value: object,
        except_id: uuid.UUID | None = None,
    ) -> None:
        model = self.model
        stmt = select(model).where(
            _column(model, "tenant_id") == tenant_id, _column(model, self.field) == value
        )
        if except_id is not None:
            stmt = stmt.where(_column(model, "id") != except_id)
        holder = await session.scalar(stmt.limit(1))
        if holder is not None:
            raise self.held(holder) if self.held else self.taken(value)

    async def flush(self, session: AsyncSession, row: R) -> None:
        """Flush; a unique violation becomes the 409 for ``row``'s value."""
        tenant_id, ident, value = _value(row, "tenant_id"), _id(row), _value(row, self.field)
        try:
            await session.flush()
        except IntegrityError as exc:
            await session.rollback()
            await self.ensure_free(session, tenant_id=tenant_id, value=value, except_id=ident)
            raise self.taken(value) from exc  # the winner is gone already


def require_time_cursor(cursor: str | None) -> None:
    """400 unless the cursor is one of a list sorted by time (a name cursor is stale here)."""
    require_cursor(cursor, of=datetime)


async def _audit(
    session: AsyncSession,
    actor: Principal,
    kind: str,
    verb: str,
    ident: uuid.UUID,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The audit entry ``<kind>.<verb>`` of the row ``ident`` (resource type ``kind``)."""
    await record(
        session,
        actor=actor,
        action=f"{kind}.{verb}",
        resource_type=kind,
        resource_id=ident,
        before=before,
        after=after,
    )


async def _flush(session: AsyncSession, row: R, unique: Unique[R] | None) -> None:
    if unique is None:
        await session.flush()
    else:
        await unique.flush(session, row)


async def insert(
    session: AsyncSession,
    *,
    actor: Principal,
    row: R,
    kind: str,
    snapshot: Snapshot[R],
    unique: Unique[R] | None = None,
    verb: str = "create",
) -> R:
    """Add the row, flush (a lost race on ``unique`` is its 409), audit ``<kind>.<verb>``
    with its snapshot."""
    session.add(row)
    await _flush(session, row, unique)
    await _audit(session, actor, kind, verb, _id(row), after=snapshot(row))
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
    unique: Unique[R] | None = None,
) -> R:
    """Flush the changed row (a lost race on ``unique`` is its 409), audit ``<kind>.<verb>``
    with the snapshots before and after."""
    await _flush(session, row, unique)
    await _audit(session, actor, kind, verb, _id(row), before=before, after=snapshot(row))
    return row


async def remove(
    session: AsyncSession, *, actor: Principal, row: R, kind: str, snapshot: Snapshot[R]
) -> None:
    """Delete the row, flush, audit ``<kind>.delete`` with its last snapshot."""
    ident, before = _id(row), snapshot(row)
    await session.delete(row)
    await session.flush()
    await _audit(session, actor, kind, "delete", ident, before=before)


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


async def update_revised(
    session: AsyncSession,
    *,
    actor: Principal,
    model: type[R],
    ident: uuid.UUID,
    expected: Collection[int] | None,
    what: str,
    kind: str,
    snapshot: Snapshot[R],
    columns: Mapping[str, Any],
    wanted: Callable[[dict[str, Any]], dict[str, Any]],
    unique: Unique[R],
    then: Callable[[R, dict[str, Any]], Awaitable[None]] | None = None,
    attempts: int = 5,
) -> R:
    """Apply a partial update to the tenant's row ``ident``, bumping its revision when anything
    changed, and audit ``<kind>.update``.

    ``wanted`` gives the fields to set (by snapshot key; ``columns`` maps each to its column)
    from the snapshot read; fields equal to the snapshot are left out, and nothing left writes
    nothing. ``expected`` (If-Match revisions) must hold the revision read, else 412. Without
    it the last writer wins, still atomically: a concurrent change is re-read and the update
    re-applied on top of it, at most ``attempts`` times (then 409). ``then`` runs after the
    write with the changes (rows kept beside the main one)."""
    for _ in range(attempts):
        row = await get_owned(
            session, model, tenant_id=actor.tenant_id, ident=ident, what=what, fresh=True
        )
        check_revision(row, expected, what=what)
        before = snapshot(row)
        changes = {field: v for field, v in wanted(before).items() if before[field] != v}
        if not changes:
            return row
        if unique.field in changes:
            await unique.ensure_free(
                session, tenant_id=actor.tenant_id, value=changes[unique.field], except_id=_id(row)
            )
        if not await write_revision(
            session,
            row,
            {columns[field]: v for field, v in changes.items()},
            expected=expected,
            what=what,
            taken=unique.taken(changes.get(unique.field, _value(row, unique.field))),
        ):
            continue  # someone else wrote in between: re-read and re-apply
        if then is not None:
            await then(row, changes)
        await session.refresh(row)
        await _audit(session, actor, kind, "update", _id(row), before=before, after=snapshot(row))
        return row
    raise conflict(f"{what} {ident} is being changed by others; retry the update")


async def delete_audited(
    session: AsyncSession,
    *,
    actor: Principal,
    row: R,
    expected: Collection[int] | None = None,
    what: str,
    kind: str,
    snapshot: Snapshot[R],
) -> None:
    """Delete ``row`` (at the revision read when If-Match revisions were ``expected``: else
    412; 404 when it is gone) and audit ``<kind>.delete`` with its last snapshot."""
    check_revision(row, expected, what=what)
    ident, before = _id(row), snapshot(row)
    await delete_revision(session, row, expected=expected, what=what)
    await _audit(session, actor, kind, "delete", ident, before=before)


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
