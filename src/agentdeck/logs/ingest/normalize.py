"""Normalisation: raw entries → log records, or a per-entry error naming the field.

For each entry: the timestamp (missing: now; refused beyond the tenant's retention in the past
or ``logs.max_future_seconds`` ahead), the severity (the vocabulary of
:mod:`agentdeck.logs.severity`), the service, the message (cut to ``logs.max_line_bytes``
with ``truncated`` set; invalid UTF-8 was replaced by the decoders), trace and span ids (hex),
labels (names ``[A-Za-z_][A-Za-z0-9_]*``, string values, at most ``logs.max_labels``), and the
tenant's stream cap (:class:`StreamTracker`). The record gets an id from
:class:`~agentdeck.logstore.base.RecordIds` (it carries the time and sorts with it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from agentdeck.logs.ingest.entry import EntryError, RawEntry
from agentdeck.logs.severity import EXACT, UnknownSeverity, parse_severity
from agentdeck.logstore.base import COLUMN_FIELDS, LogRecord, RecordIds, Severity
from agentdeck.settings import LogsSettings

NS = 1_000_000_000
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HEX = re.compile(r"[0-9a-fA-F]*\Z")
_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?\d*(Z|z|[+-]\d\d:?\d\d)?\Z"
)
#: Label names that are columns: a label of that name would shadow the column in queries.
RESERVED = frozenset(COLUMN_FIELDS) | {"message", "timestamp"}
_GOOD_NAMES: set[str] = set()  # label names seen valid (bounded)
_GOOD_NAMES_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Limits:
    max_line_bytes: int
    max_labels: int
    max_label_name_bytes: int
    max_label_value_bytes: int
    max_future_ns: int

    @classmethod
    def of(cls, settings: LogsSettings) -> Limits:
        return cls(
            max_line_bytes=settings.max_line_bytes,
            max_labels=settings.max_labels,
            max_label_name_bytes=settings.max_label_name_bytes,
            max_label_value_bytes=settings.max_label_value_bytes,
            max_future_ns=settings.max_future_seconds * NS,
        )


class Refused(Exception):
    def __init__(self, field: str, message: str, reason: str) -> None:
        self.field, self.message, self.reason = field, message, reason


# --- timestamps --------------------------------------------------------------------------------


def timestamp_ns(value: object, now_ns: int) -> int:
    """A timestamp in ns: None → now; numbers by magnitude (s, ms, µs, ns); RFC 3339 text."""
    if value is None:
        return now_ns
    if isinstance(value, bool):
        raise Refused("timestamp", "timestamp must be a number or an RFC 3339 string", "invalid")
    if isinstance(value, int):
        number = value
        if number < 0:
            raise Refused("timestamp", "timestamp is negative", "invalid_timestamp")
        if number < 10**11:
            return number * NS
        if number < 10**14:
            return number * 1_000_000
        if number < 10**17:
            return number * 1_000
        return number
    if isinstance(value, float):
        if not value == value or value in (float("inf"), float("-inf")) or value < 0:
            raise Refused("timestamp", "timestamp must be a finite number", "invalid_timestamp")
        if value < 1e11:
            return int(round(value * NS))
        if value < 1e14:
            return int(round(value * 1e6))
        if value < 1e17:
            return int(round(value * 1e3))
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return timestamp_ns(int(text), now_ns)
        match = _RFC3339.match(text)
        if match is not None:
            whole, fraction, zone = match.groups()
            if zone is None:
                raise Refused(
                    "timestamp",
                    "timestamp needs a time zone (e.g. Z or +02:00)",
                    "invalid_timestamp",
                )
            try:
                moment = datetime.fromisoformat(whole + ("+00:00" if zone in "Zz" else zone))
            except ValueError:
                pass
            else:
                nanos = int((fraction or "").ljust(9, "0"))
                return int(moment.timestamp()) * NS + nanos
        raise Refused(
            "timestamp",
            f"timestamp {text[:40]!r} is not RFC 3339 (2026-01-02T15:04:05.123Z) nor a number",
            "invalid_timestamp",
        )
    raise Refused("timestamp", "timestamp must be a number or an RFC 3339 string", "invalid")


# --- streams -----------------------------------------------------------------------------------


class TenantStreams:
    """One tenant's active streams (stream key → when last seen, ns)."""

    __slots__ = ("cap", "idle_ns", "seen")

    def __init__(self, cap: int, idle_ns: int) -> None:
        self.cap = cap
        self.idle_ns = idle_ns
        self.seen: dict[int, int] = {}

    def admit(self, key: int, now_ns: int) -> bool:
        seen = self.seen
        if key in seen:
            seen[key] = now_ns
            return True
        if len(seen) >= self.cap:
            oldest = now_ns - self.idle_ns
            for stale in [k for k, last in seen.items() if last < oldest]:
                del seen[stale]
            if len(seen) >= self.cap:
                return False
        seen[key] = now_ns
        return True


class StreamTracker:
    """Each tenant's active streams, capped: a stream is the service, the agent and the stream
    labels of a line. A stream idle for ``idle_ns`` no longer counts. Per process."""

    def __init__(self, cap: int, idle_ns: int) -> None:
        self.cap = cap
        self.idle_ns = idle_ns
        self._tenants: dict[UUID, TenantStreams] = {}

    def tenant(self, tenant_id: UUID) -> TenantStreams:
        streams = self._tenants.get(tenant_id)
        if streams is None:
            streams = self._tenants[tenant_id] = TenantStreams(self.cap, self.idle_ns)
        return streams

    def admit(self, tenant_id: UUID, key: int, now_ns: int) -> bool:
        return self.tenant(tenant_id).admit(key, now_ns)

    def count(self, tenant_id: UUID) -> int:
        found = self._tenants.get(tenant_id)
        return len(found.seen) if found is not None else 0


#: Label sets already checked: (service, agent, raw label items) → (labels, stream key).
LabelCache = dict[tuple[object, ...], tuple[dict[str, str], int]]
_LABEL_CACHE_MAX = 50_000


# --- the normaliser ---------------------------------------------------------------------------


def _text(value: object, field: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise Refused(field, f"{field} is required", "missing_field")
        return ""
    if isinstance(value, str):
        return value
    raise Refused(field, f"{field} must be a string", "invalid")


def _hex_id(value: object, field: str, size: int) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _HEX.match(value) or len(value) != size:
        raise Refused(field, f"{field} must be {size} hex digits", "invalid_id")
    lowered = value.lower()
    return "" if lowered.count("0") == size else lowered


def _check_name(name: object, limits: Limits) -> str:
    if isinstance(name, str) and name in _GOOD_NAMES:
        return name
    if not isinstance(name, str) or not LABEL_NAME.match(name):
        raise Refused(
            "labels",
            f"label name {str(name)[:60]!r} must match [A-Za-z_][A-Za-z0-9_]*",
            "invalid_label",
        )
    if len(name.encode()) > limits.max_label_name_bytes:
        raise Refused(
            "labels",
            f"label name {name[:60]!r}... is longer than {limits.max_label_name_bytes} bytes",
            "invalid_label",
        )
    if name in RESERVED:
        raise Refused(
            "labels",
            f"label name {name!r} is a field of the line, not a label: set the entry's {name}",
            "invalid_label",
        )
    if len(_GOOD_NAMES) < _GOOD_NAMES_MAX:
        _GOOD_NAMES.add(name)
    return name


def _check_labels(
    labels: Mapping[str, object], limits: Limits, into: dict[str, str]
) -> dict[str, str]:
    limit = limits.max_label_value_bytes
    for name, value in labels.items():
        checked = _check_name(name, limits)
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            raise Refused("labels", f"label {checked!r} must have a string value", "invalid_label")
        if not text:
            continue  # an empty value is no label (as in Prometheus and Loki)
        if len(text) * 4 > limit and len(text.encode()) > limit:
            raise Refused(
                "labels", f"label {checked!r} has a value over {limit} bytes", "invalid_label"
            )
        into[checked] = text
    return into


def _cut(message: str, limit: int) -> str:
    """``message`` cut to at most ``limit`` bytes of UTF-8, at a character boundary."""
    return message.encode()[:limit].decode(errors="ignore")


class Normaliser:
    """Turns raw entries of one request into records; see the module docstring."""

    def __init__(
        self,
        *,
        tenant_id: UUID,
        limits: Limits,
        streams: StreamTracker,
        oldest_ns: int,
        now_ns: int | None = None,
        label_cache: LabelCache | None = None,
        ids: RecordIds | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.limits = limits
        self.streams = streams.tenant(tenant_id)
        self.cap = streams.cap
        self.label_cache: LabelCache = {} if label_cache is None else label_cache
        self.now_ns = time.time_ns() if now_ns is None else now_ns
        self.oldest_ns = oldest_ns
        self.newest_ns = self.now_ns + limits.max_future_ns
        self.retention_days = 0  # for the message; set by the caller
        self.ids = RecordIds() if ids is None else ids

    def _labels(
        self, raw: Mapping[str, object], service: str, agent: str
    ) -> tuple[dict[str, str], int]:
        """The checked labels (shared by equal label sets: records never change them) and
        the stream key."""
        if type(raw) is not dict and not isinstance(raw, Mapping):  # the ABC check is slow
            raise Refused("labels", "labels must be an object of strings", "invalid")
        cache = self.label_cache
        try:
            token: tuple[object, ...] = (service, agent, *raw.items())
            found = cache.get(token)
        except TypeError:  # an unhashable value: refused below
            token, found = (), None
        if found is not None:
            return found
        labels = _check_labels(raw, self.limits, {})
        key = hash((service, agent, frozenset(labels.items())))
        if token:
            if len(cache) >= _LABEL_CACHE_MAX:
                cache.clear()
            cache[token] = (labels, key)
        return labels, key

    def run(self, entries: Iterable[RawEntry | None], errors: list[EntryError]) -> list[LogRecord]:
        """Records of the valid entries; an error per refused one appended to ``errors``
        (decoders' errors stand for the ``None`` entries)."""
        records: list[LogRecord] = []
        append = records.append
        one = self.one
        for index, entry in enumerate(entries):
            if entry is None:
                continue
            try:
                append(one(entry))
            except Refused as refused:
                errors.append(EntryError(index, refused.field, refused.message, refused.reason))
        return records

    def one(self, entry: RawEntry) -> LogRecord:
        limits = self.limits
        now = self.now_ns
        ts = entry.timestamp
        if ts is None:
            ts_ns = now
        elif type(ts) is int and ts >= 10**17:  # ns, the common case
            ts_ns = ts
        else:
            ts_ns = timestamp_ns(ts, now)
        if ts_ns < self.oldest_ns:
            days = self.retention_days
            raise Refused(
                "timestamp",
                f"timestamp is older than the retention of {days} days" if days else "too old",
                "too_old",
            )
        if ts_ns > self.newest_ns:
            raise Refused(
                "timestamp",
                f"timestamp is more than {limits.max_future_ns // NS} s in the future",
                "too_far_in_future",
            )
        raw_severity = entry.severity
        severity = EXACT.get(raw_severity) if type(raw_severity) is str else None
        if severity is None:
            if raw_severity is None:
                if not entry.default_service:
                    raise Refused("severity", "severity is required", "missing_field")
                severity = Severity.INFO
            else:
                try:
                    severity = parse_severity(raw_severity)
                except UnknownSeverity as exc:
                    raise Refused("severity", str(exc), "invalid_severity") from None
        service = entry.service
        if type(service) is not str or not service:
            if service is None or service == "":
                if not entry.default_service:
                    raise Refused("service", "service is required", "missing_field")
                service = entry.default_service
            elif not isinstance(service, str):
                raise Refused("service", "service must be a string", "invalid")
        if len(service) > 200:
            raise Refused("service", "service is longer than 200 characters", "invalid")
        message = entry.message
        if type(message) is not str:
            message = _text(message, "message", required=True)
        truncated = False
        limit = limits.max_line_bytes
        if len(message) * 4 > limit and len(message.encode()) > limit:
            message = _cut(message, limit)
            truncated = True
        agent = entry.agent
        if agent is None:
            agent = ""
        elif type(agent) is not str and not isinstance(agent, str):
            raise Refused("agent", "agent must be a string", "invalid")
        elif len(agent) > 200:
            raise Refused("agent", "agent is longer than 200 characters", "invalid")
        trace_id = _hex_id(entry.trace_id, "trace_id", 32) if entry.trace_id else ""
        span_id = _hex_id(entry.span_id, "span_id", 16) if entry.span_id else ""
        raw_labels = entry.labels
        labels, key = self._labels(raw_labels, service, agent) if raw_labels else ({}, 0)
        if not key:
            key = hash((service, agent))
        fields = entry.fields
        if fields:
            labels = dict(labels)
            for name, value in fields.items():
                if name not in labels:
                    if len(value) * 4 > limit and len(value.encode()) > limit:
                        value = _cut(value, limit)
                        truncated = True
                    labels[name] = value
        if len(labels) > limits.max_labels:
            raise Refused(
                "labels",
                f"{len(labels)} labels, more than the limit of {limits.max_labels}",
                "too_many_labels",
            )
        if not self.streams.admit(key, now):
            raise Refused(
                "labels",
                "label cardinality limit: the tenant has reached its limit of "
                f"{self.cap} active streams (service, agent and labels); "
                "new streams are refused",
                "cardinality_limit",
            )
        return LogRecord(
            id=self.ids.next(ts_ns),
            tenant_id=self.tenant_id,
            ts_ns=ts_ns,
            service=service,
            severity=severity,
            message=message,
            agent=agent,
            labels=labels,
            trace_id=trace_id,
            span_id=span_id,
            truncated=truncated,
            observed_ns=now,
        )
