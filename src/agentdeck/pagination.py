"""Cursor pagination: opaque cursors over (sort value, id), stable under inserts."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Row, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from agentdeck.errors import malformed

T = TypeVar("T")
#: the (sort column, id column) a page is ordered by
Order = tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )
    limit: int


def encode_cursor(value: Any, ident: uuid.UUID) -> str:
    if isinstance(value, datetime):
        payload: list[Any] = ["dt", value.isoformat(), str(ident)]
    else:
        payload = ["v", value, str(ident)]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, value, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if kind == "dt":
            value = datetime.fromisoformat(value)
        return value, uuid.UUID(ident)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise malformed(
            "invalid-cursor", ["query", "cursor"], "the cursor is malformed or stale"
        ) from exc


def require_cursor(cursor: str | None, *, of: type) -> None:
    """400 unless ``cursor`` continues a list sorted by values of type ``of`` (a cursor of a
    list sorted by another kind of value is stale here)."""
    if cursor and not isinstance(decode_cursor(cursor)[0], of):
        raise malformed("invalid-cursor", ["query", "cursor"], "the cursor is malformed or stale")


def apply_cursor(
    stmt: Select[Any], *, order: Order, cursor: str | None, limit: int, descending: bool
) -> Select[Any]:
    """Order by (sort, id), continue after the cursor, fetch one extra row to see if more exist."""
    sort_column, id_column = order
    if cursor:
        value, ident = decode_cursor(cursor)
        stmt = continue_after(stmt, order, value, ident, descending=descending)
    by = (sort_column.desc(), id_column.desc()) if descending else order
    return stmt.order_by(*by).limit(limit + 1)


def continue_after(
    stmt: Select[Any], order: Order, value: Any, ident: uuid.UUID, *, descending: bool
) -> Select[Any]:
    """``stmt`` narrowed to the rows after (``value``, ``ident``) in (sort, id) order."""
    sort_column, id_column = order
    if descending:
        return stmt.where(or_(sort_column < value, and_(sort_column == value, id_column < ident)))
    return stmt.where(or_(sort_column > value, and_(sort_column == value, id_column > ident)))


def page_of(
    rows: Sequence[Any], *, limit: int, sort_attr: str, id_attr: str = "id"
) -> tuple[list[Any], str | None]:
    """Cut the extra row off and build the next cursor from the last row kept."""
    items = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit and items:
        last = items[-1]
        next_cursor = encode_cursor(getattr(last, sort_attr), getattr(last, id_attr))
    return items, next_cursor


def where_given(stmt: Select[Any], *pairs: tuple[InstrumentedAttribute[Any], Any]) -> Select[Any]:
    """``stmt`` narrowed to ``column == value`` for each pair whose value is given (not None)."""
    return stmt.where(*(column == value for column, value in pairs if value is not None))


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    order: Order,
    cursor: str | None,
    limit: int,
    descending: bool = True,
    keep: Callable[[Any], bool] | None = None,
    scan: int = 10_000,
) -> tuple[list[Any], str | None]:
    """One page of ``stmt``'s rows ordered by ``order`` (a sort column, then the id column)
    after ``cursor`` (newest first by default), and the next page's cursor.

    ``keep``, when given, filters in Python over at most ``scan`` rows.
    """
    fetch = limit if keep is None else scan
    stmt = apply_cursor(stmt, order=order, cursor=cursor, limit=fetch, descending=descending)
    rows = list((await session.scalars(stmt)).all())
    if keep is not None:
        rows = [row for row in rows if keep(row)]
    return page_of(rows, limit=limit, sort_attr=order[0].key, id_attr=order[1].key)


async def fetch_row_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    order: Order,
    cursor: str | None,
    limit: int,
    descending: bool = True,
) -> tuple[list[Row[*tuple[Any, ...]]], str | None]:
    """`fetch_page` for a select of several entities (a join): its rows, paged by the first
    entity's ``order`` columns."""
    stmt = apply_cursor(stmt, order=order, cursor=cursor, limit=limit, descending=descending)
    rows = (await session.execute(stmt)).all()
    firsts = [row[0] for row in rows]
    _, next_cursor = page_of(firsts, limit=limit, sort_attr=order[0].key, id_attr=order[1].key)
    return list(rows[:limit]), next_cursor
