"""The embedded log store's SQL: the schema, queries compiled from a parsed LogQL query, and
the Arrow tables its inserts are built from (see :mod:`agentdeck.logstore.duckdb`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import duckdb
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from agentdeck.logstore import _common, logql
from agentdeck.logstore._duckdb_ids import split_ids
from agentdeck.logstore.base import COLUMN_FIELDS, LogColumns, LogQuery, LogRecord, Matcher

SCHEMA_VERSION = "2"
#: The table (schema 2). A record id of :class:`~agentdeck.logstore.base.RecordIds`' shape
#: whose time is the line's own millisecond is stored as its last 15 digits, a number
#: (``id_seq``: node and counter, which count up line by line and so bit-pack to ~0.3 byte),
#: the time digits coming back from ``ts_ns`` (:data:`ID_SQL`); any other id is kept as text
#: in ``id_text``. Schema 1 kept every id as zstd text (~8.7 bytes a line). The trace and span
#: ids are one text, ``trace_span`` (the trace id's characters, then the span id's): one
#: dictionary entry and index a line instead of two (~2.9 bytes a line less on lines one in
#: ten of which are traced). Where the trace id ends is ``trace_split``, the trace id's length
#: less twice the span id's (in characters): 0 for the W3C ids (32 and 16 hex digits) and for
#: none, so the column is a constant (a length would cost ~0.8 byte a line); the span id's
#: length is then (length(trace_span) - trace_split) / 3.
LOGS_COLUMNS = """(
    tenant_id UUID NOT NULL,
    ts_ns BIGINT NOT NULL,
    id_seq UBIGINT,
    id_text VARCHAR,
    service VARCHAR NOT NULL,
    severity UTINYINT NOT NULL,
    agent VARCHAR NOT NULL,
    trace_span VARCHAR NOT NULL,
    trace_split INTEGER NOT NULL,
    message VARCHAR NOT NULL USING COMPRESSION zstd,
    labels VARCHAR NOT NULL,
    truncated BOOLEAN NOT NULL,
    template_id BIGINT,
    observed_ns BIGINT NOT NULL
)"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS log_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS logs {LOGS_COLUMNS};
"""
_MS = "CASE WHEN ts_ns > 0 THEN (ts_ns // 1000000) & 17592186044415 ELSE 0 END"
#: The record id of a stored row.
ID_SQL = f"coalesce(id_text, printf('%011x%015x', {_MS}, id_seq))"
_SEQ = "TRY_CAST('0x' || substr(id, 12) AS UBIGINT)"
_FITS = f"length(id) = 26 AND printf('%011x%015x', {_MS}, {_SEQ}) = id"
_REST = (
    "service, severity, agent, trace_id || span_id, length(trace_id) - 2 * length(span_id), "
    "message, labels, "
    "truncated, template_id"
)
#: The trace and span ids of a stored row.
_SPAN_LEN = "(length(trace_span) - trace_split) // 3"
TRACE_SQL = f"substring(trace_span, 1, length(trace_span) - {_SPAN_LEN})"
SPAN_SQL = f"right(trace_span, {_SPAN_LEN})"
#: Whether a stored row has a trace id, and a span id.
HAS_TRACE_SQL = f"length(trace_span) > {_SPAN_LEN}"
HAS_SPAN_SQL = f"{_SPAN_LEN} > 0"
#: The stored columns from rows with a text ``id`` (a schema-1 table; the same split as
#: :func:`~agentdeck.logstore._duckdb_ids.split_ids` makes of an insert's ids, in SQL).
STORED_SQL = (
    f"ts_ns, CASE WHEN {_FITS} THEN {_SEQ} END, CASE WHEN {_FITS} THEN NULL ELSE id END, "
    f"{_REST}, observed_ns"
)
#: An insert's projection of its Arrow table (:func:`arrow_columns`: ids already split).
INSERT_SQL = f"CAST(tenant_id AS UUID), ts_ns, id_seq, id_text, {_REST}, observed_ns"
#: The stored columns a record is read from (:func:`to_record` decodes the id, trace and span
#: ids in Python: as SQL they would be computed for every matching row, before the LIMIT).
COLUMNS = (
    "ts_ns, id_text, id_seq, service, severity, agent, trace_span, trace_split, message, "
    "labels, truncated, template_id, observed_ns"
)
#: The stream-selector fields that are columns, by their SQL.
SIMPLE_COLUMNS = {
    "service": "service",
    "agent": "agent",
    "trace_id": TRACE_SQL,
    "span_id": SPAN_SQL,
}
# Column fields label_names reports when some line in the range has them.
FLAG_NAMES = ("agent", "trace_id", "span_id", "template")


def where_sql(tenant_id: UUID, query: LogQuery) -> tuple[str, list[object]]:
    """The WHERE clause (tenant, matchers, line filters) and its parameters, in order."""
    parts = ["tenant_id = ?::UUID"]
    params: list[object] = [str(tenant_id)]
    for matcher in query.matchers:
        sql, args = matcher_sql(matcher)
        parts.append(sql)
        params.extend(args)
    for line_filter in query.line_filters:
        op, value = line_filter.op, line_filter.value
        if op == "|=":
            parts.append("contains(message, ?)")
        elif op == "!=":
            parts.append("NOT contains(message, ?)")
        elif op == "|~":
            parts.append("regexp_matches(message, ?)")
            value = logql.line_regex(value)
        else:
            parts.append("NOT regexp_matches(message, ?)")
            value = logql.line_regex(value)
        params.append(value)
    return " AND ".join(parts), params


def matcher_sql(matcher: Matcher) -> tuple[str, list[object]]:
    name, op, value = matcher.name, matcher.op, matcher.value
    if name == "severity":
        codes = _common.severity_codes(matcher)
        if codes.everything:
            return "TRUE", []
        if not codes.codes:
            return "FALSE", []
        return f"severity IN ({', '.join(str(c) for c in codes.codes)})", []
    if name == "template" and op in ("=", "!="):
        if value == "":
            return ("template_id IS NULL" if op == "=" else "template_id IS NOT NULL"), []
        number = _common.template_number(value)
        if number is None:
            return ("FALSE" if op == "=" else "TRUE"), []
        if op == "=":
            return "template_id = ?", [number]
        return "template_id IS DISTINCT FROM ?", [number]
    column, args = label_column(name)
    if name not in SIMPLE_COLUMNS:
        column = f"coalesce({column}, '')"
    if op == "=":
        return f"{column} = ?", [*args, value]
    if op == "!=":
        return f"{column} <> ?", [*args, value]
    negate = "NOT " if op == "!~" else ""
    return f"{negate}regexp_matches({column}, ?)", [*args, logql.anchored_regex(value)]


def label_column(name: str) -> tuple[str, list[object]]:
    """The SQL of the label ``name`` on a line (a column, the template id as text or a JSON
    label; NULL where the line has none) and its parameters."""
    if name in SIMPLE_COLUMNS:
        return SIMPLE_COLUMNS[name], []
    if name == "template":
        return "CAST(template_id AS VARCHAR)", []
    return "json_extract_string(labels, ?)", [json_pointer(name)]


def json_pointer(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


def _labels_json(labels: Mapping[str, str]) -> str:
    if not labels:
        return "{}"
    return orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode()


_LABELS_CACHE_SIZE = 10_000


def labels_texts(
    label_sets: Sequence[Mapping[str, str]], cache: dict[tuple[tuple[str, str], ...], str]
) -> list[str]:
    """The stored JSON of each label set (lines of one stream often share their object)."""
    texts: list[str] = []
    append = texts.append
    by_object: dict[int, str] = {}
    for labels in label_sets:
        text = by_object.get(id(labels))
        if text is None:
            key = tuple(labels.items())
            text = cache.get(key)
            if text is None:
                if len(cache) >= _LABELS_CACHE_SIZE:
                    cache.clear()
                text = cache[key] = _labels_json(labels)
            by_object[id(labels)] = text
        append(text)
    return texts


def arrow_records(
    records: Sequence[LogRecord], cache: dict[tuple[tuple[str, str], ...], str]
) -> pa.Table:
    tenants: dict[UUID, str] = {}
    for r in records:
        if r.tenant_id not in tenants:
            tenants[r.tenant_id] = str(r.tenant_id)
    ts_ns = pa.array([r.ts_ns for r in records], pa.int64())
    id_seq, id_text = split_ids(pa.array([r.id for r in records], pa.string()), ts_ns)
    return pa.table(
        {
            "tenant_id": pa.array([tenants[r.tenant_id] for r in records], pa.string()),
            "ts_ns": ts_ns,
            "id_seq": id_seq,
            "id_text": id_text,
            "service": pa.array([r.service for r in records], pa.string()),
            "severity": pa.array([_common.SEVERITY_CODE[r.severity] for r in records], pa.uint8()),
            "agent": pa.array([r.agent for r in records], pa.string()),
            "trace_id": pa.array([r.trace_id for r in records], pa.string()),
            "span_id": pa.array([r.span_id for r in records], pa.string()),
            "message": pa.array([r.message for r in records], pa.string()),
            "labels": pa.array(labels_texts([r.labels for r in records], cache), pa.string()),
            "truncated": pa.array([r.truncated for r in records], pa.bool_()),
            "template_id": pa.array([r.template_id for r in records], pa.int64()),
            "observed_ns": pa.array([r.observed_ns for r in records], pa.int64()),
        }
    )


def arrow_columns(batch: LogColumns, cache: dict[tuple[tuple[str, str], ...], str]) -> pa.Table:
    """The Arrow table of one tenant's columns: no Python object per line besides the label
    texts."""
    n = len(batch.id)
    for column in (batch.ts_ns, batch.service, batch.message, batch.labels, batch.observed_ns):
        if len(column) != n:
            raise ValueError("the columns of a batch differ in length")
    codes = _common.SEVERITY_CODE
    templates = batch.template_id
    ts_ns = pa.array(batch.ts_ns, pa.int64())
    id_seq, id_text = split_ids(pa.array(batch.id, pa.string()), ts_ns)
    return pa.table(
        {
            "tenant_id": pa.repeat(pa.scalar(str(batch.tenant_id), pa.string()), n),
            "ts_ns": ts_ns,
            "id_seq": id_seq,
            "id_text": id_text,
            "service": pa.array(batch.service, pa.string()),
            "severity": pa.array([codes[s] for s in batch.severity], pa.uint8()),
            "agent": pa.array(batch.agent, pa.string()),
            "trace_id": pa.array(batch.trace_id, pa.string()),
            "span_id": pa.array(batch.span_id, pa.string()),
            "message": pa.array(batch.message, pa.string()),
            "labels": pa.array(labels_texts(batch.labels, cache), pa.string()),
            "truncated": pa.array(batch.truncated, pa.bool_()),
            "template_id": (
                pa.nulls(n, pa.int64()) if templates is None else pa.array(templates, pa.int64())
            ),
            "observed_ns": pa.array(batch.observed_ns, pa.int64()),
        }
    )


def to_record(tenant_id: UUID, row: tuple[Any, ...]) -> LogRecord:
    """The record of a row of :data:`COLUMNS`."""
    ts, id_text, id_seq, service, code, agent, trace_span, split = row[:8]
    labels = row[9]
    decoded = orjson.loads(labels) if labels != "{}" else {}
    span_len = (len(trace_span) - split) // 3
    trace_len = len(trace_span) - span_len
    head = (
        ts,
        id_text if id_text is not None else stored_id(ts, id_seq),
        service,
        code,
        agent,
        trace_span[:trace_len],
        trace_span[trace_len:],
        row[8],
    )
    return _common.row_record(tenant_id, head, decoded, row[10:])


def stored_id(ts_ns: int, id_seq: int) -> str:
    """A record id kept as its number (as :data:`ID_SQL`)."""
    ms = (ts_ns // 1_000_000 if ts_ns > 0 else 0) & 0xFFF_FFFF_FFFF
    return f"{ms:011x}{id_seq:015x}"


def row_count(result: duckdb.DuckDBPyConnection) -> int:
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


assert set(COLUMN_FIELDS) == set(SIMPLE_COLUMNS) | {"severity", "template"}
