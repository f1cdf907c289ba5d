"""Normalisation of raw entries: severities, timestamps, limits, labels and the stream cap."""

from __future__ import annotations

import uuid

import pytest

from agentdeck.logs.ingest.entry import DefaultedEntry, EntryError, RawEntry
from agentdeck.logs.ingest.normalize import (
    NS,
    Limits,
    Normaliser,
    Refused,
    StreamTracker,
    timestamp_ns,
)
from agentdeck.logs.severity import UnknownSeverity, parse_severity
from agentdeck.logstore.base import Severity, record_id_ms
from agentdeck.settings import LogsSettings

NOW = 1_800_000_000 * NS
TENANT = uuid.uuid4()


def normaliser(**settings: object) -> Normaliser:
    config = LogsSettings(**settings)  # type: ignore[arg-type]
    return Normaliser(
        tenant_id=TENANT,
        limits=Limits.of(config),
        streams=StreamTracker(config.max_streams_per_tenant, 3600 * NS),
        oldest_ns=NOW - 7 * 86400 * NS,
        now_ns=NOW,
    )


def entry(**fields: object) -> RawEntry:
    values: dict[str, object] = {"severity": "info", "service": "api", "message": "hello"}
    values.update(fields)
    return RawEntry(**values)  # type: ignore[arg-type]


def run(entries: list[RawEntry | None], **settings: object) -> tuple[list, list[EntryError]]:
    errors: list[EntryError] = []
    records = normaliser(**settings).run(entries, errors)
    return records, errors


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("DEBUG", Severity.DEBUG),
        ("info", Severity.INFO),
        ("Warning", Severity.WARNING),
        ("warn", Severity.WARNING),
        ("err", Severity.ERROR),
        ("fatal", Severity.CRITICAL),
        ("crit", Severity.CRITICAL),
        ("trace", Severity.DEBUG),
        ("notice", Severity.INFO),
        ("emerg", Severity.CRITICAL),
        ("ALERT", Severity.CRITICAL),
        (" error ", Severity.ERROR),
        (1, Severity.DEBUG),
        (5, Severity.DEBUG),
        (9, Severity.INFO),
        (13, Severity.WARNING),
        (17, Severity.ERROR),
        (21, Severity.CRITICAL),
        (24, Severity.CRITICAL),
        ("17", Severity.ERROR),
    ],
)
def test_severity_vocabulary(given: object, stored: Severity) -> None:
    assert parse_severity(given) is stored


@pytest.mark.parametrize("given", ["verbose", "", 0, 25, True, None, "infoo"])
def test_unknown_severities_are_refused(given: object) -> None:
    with pytest.raises(UnknownSeverity):
        parse_severity(given)


@pytest.mark.parametrize(
    ("given", "ns"),
    [
        (1_700_000_000, 1_700_000_000 * NS),
        (1_700_000_000_123, 1_700_000_000_123_000_000),
        (1_700_000_000_123_456, 1_700_000_000_123_456_000),
        (1_700_000_000_123_456_789, 1_700_000_000_123_456_789),
        (1_700_000_000.5, 1_700_000_000_500_000_000),
        ("1700000000123456789", 1_700_000_000_123_456_789),
        ("2023-11-14T22:13:20Z", 1_700_000_000 * NS),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123_456_789),
        ("2023-11-15T00:13:20.5+02:00", 1_700_000_000_500_000_000),
    ],
)
def test_timestamps(given: object, ns: int) -> None:
    assert timestamp_ns(given, NOW) == ns


@pytest.mark.parametrize("given", ["yesterday", "2023-11-14T22:13:20", -5, True, float("nan")])
def test_bad_timestamps(given: object) -> None:
    with pytest.raises(Refused):
        timestamp_ns(given, NOW)


def test_a_good_entry_becomes_a_record() -> None:
    records, errors = run(
        [
            entry(
                timestamp=NOW - NS,
                severity="warn",
                labels={"env": "prod", "region": ""},
                trace_id="0AF7651916CD43DD8448EB211C80319C",
                span_id="b7ad6b7169203331",
                agent="bot-1",
            )
        ]
    )
    assert errors == []
    (record,) = records
    assert record.ts_ns == NOW - NS
    assert record.severity is Severity.WARNING
    assert record.labels == {"env": "prod"}  # an empty value is no label
    assert record.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert record.span_id == "b7ad6b7169203331"
    assert (record.agent, record.service, record.tenant_id) == ("bot-1", "api", TENANT)
    assert record.observed_ns == NOW and not record.truncated
    assert record_id_ms(record.id) == (NOW - NS) // 1_000_000


def test_missing_timestamp_means_now() -> None:
    (record,), _ = run([entry()])
    assert record.ts_ns == NOW


def test_bad_entries_get_errors_by_index_and_the_good_ones_are_kept() -> None:
    ten_years = 10 * 365 * 86400 * NS
    records, errors = run(
        [
            entry(message="ok 0"),
            entry(severity="verbose"),
            entry(timestamp=NOW + ten_years),
            entry(timestamp=NOW - ten_years),
            None,  # refused by the decoder
            entry(service=None),
            entry(message=None),
            entry(trace_id="xyz"),
            entry(labels={"bad-name": "x"}),
            entry(labels={"service": "x"}),
            entry(labels={f"l{i}": "v" for i in range(31)}),
            entry(labels={"big": "x" * 5000}),
            entry(severity=None),
            entry(message="ok 13"),
        ]
    )
    assert [r.message for r in records] == ["ok 0", "ok 13"]
    assert [(e.index, e.field, e.reason) for e in errors] == [
        (1, "severity", "invalid_severity"),
        (2, "timestamp", "too_far_in_future"),
        (3, "timestamp", "too_old"),
        (5, "service", "missing_field"),
        (6, "message", "missing_field"),
        (7, "trace_id", "invalid_id"),
        (8, "labels", "invalid_label"),
        (9, "labels", "invalid_label"),
        (10, "labels", "too_many_labels"),
        (11, "labels", "invalid_label"),
        (12, "severity", "missing_field"),
    ]
    assert "unknown severity 'verbose'" in errors[0].message
    assert "30" in errors[8].message


def test_defaulted_entries_take_unknown_service_and_info() -> None:
    (record,), _ = run([DefaultedEntry(message="x")])
    assert (record.service, record.severity) == ("unknown_service", Severity.INFO)


def test_long_lines_are_truncated_at_a_character_boundary() -> None:
    limit = 256 * 1024
    records, errors = run([entry(message="é" * limit), entry(message="a" * limit)])
    assert errors == []
    cut, exact = records
    assert cut.truncated and len(cut.message.encode()) <= limit
    assert cut.message == "é" * (limit // 2)
    assert not exact.truncated and len(exact.message) == limit


def test_numbers_in_labels_are_text() -> None:
    (record,), _ = run([entry(labels={"port": 8080, "ratio": 0.5, "on": True})])
    assert record.labels == {"port": "8080", "ratio": "0.5", "on": "true"}


def test_fields_do_not_count_as_streams_but_count_as_labels() -> None:
    entries: list[RawEntry | None] = [
        RawEntry(severity="info", service="api", message="m", fields={"request_id": str(i)})
        for i in range(50)
    ]
    records, errors = run(entries, max_streams_per_tenant=1)
    assert len(records) == 50 and errors == []
    assert records[7].labels == {"request_id": "7"}


def test_the_stream_cap_refuses_new_streams_with_a_clear_error() -> None:
    entries: list[RawEntry | None] = [entry(labels={"user": str(i)}) for i in range(20)]
    entries.append(entry(labels={"user": "0"}))  # an existing stream keeps flowing
    records, errors = run(entries, max_streams_per_tenant=10)
    assert len(records) == 11
    assert [e.index for e in errors] == list(range(10, 20))
    assert all(e.reason == "cardinality_limit" for e in errors)
    assert "label cardinality limit" in errors[0].message


def test_idle_streams_stop_counting() -> None:
    tracker = StreamTracker(2, idle_ns=10)
    assert tracker.admit(TENANT, 1, 0) and tracker.admit(TENANT, 2, 5)
    assert not tracker.admit(TENANT, 3, 8)
    assert tracker.admit(TENANT, 3, 12)  # stream 1 idle since 0
    assert tracker.admit(uuid.uuid4(), 9, 12)  # per tenant
