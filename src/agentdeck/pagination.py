"""Cursor pagination: opaque cursors over (sort value, id), stable under inserts."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from agentdeck.errors import malformed

T = TypeVar("T")
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


def apply_cursor(
    stmt: Select[Any],
    *,
    sort_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[Any],
    cursor: str | None,
    limit: int,
    descending: bool,
) -> Select[Any]:
    """Order by (sort, id), continue after the cursor, fetch one extra row to see if more exist."""
    if cursor:
        value, ident = decode_cursor(cursor)
        if descending:
            stmt = stmt.where(
                or_(sort_column < value, and_(sort_column == value, id_column < ident))
            )
        else:
            stmt = stmt.where(
                or_(sort_column > value, and_(sort_column == value, id_column > ident))
            )
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column, id_column)
    return stmt.order_by(*order).limit(limit + 1)


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
