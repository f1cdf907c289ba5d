"""Each rule detector on hand-made batches: its exact thresholds and what it reports."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence

import pytest

from agentdeck.logintel.analysis import (
    AnomalySeverity,
    AnomalyType,
    BatchContext,
    BatchLine,
)
from agentdeck.logintel.detectors import (
    ErrorSpike,
    HiddenErrors,
    NewTemplateBurst,
    TemplateRateSpike,
    UnusualPattern,
    default_detectors,
)
from agentdeck.logintel.detectors.templates import classify, poisson_sf

STREAM = uuid.uuid4()


def line(
    n: int,
    severity: str = "INFO",
    message: str | None = None,
    service: str = "api",
    template: int | None = None,
) -> BatchLine:
    return BatchLine(
        id=f"l{n}",
        ts_ns=1_700_000_000_000_000_000 + n,
        service=service,
        severity=severity,
        message=message if message is not None else f"request {n} served",
        template_id=template,
    )


def batch(
    lines: Sequence[BatchLine], templates: dict[int, str] | None = None, stream=STREAM
) -> BatchContext:
    return BatchContext(
        tenant_id=uuid.UUID(int=1),
        stream_id=stream,
        stream_name="s",
        batch_id=uuid.uuid4(),
        lines=list(lines),
        templates=templates or {},
    )


def mixed(errors: int, total: int, severity: str = "ERROR") -> BatchContext:
    lines = [line(i, severity, f"failure number {i}") for i in range(errors)]
    lines += [line(i) for i in range(errors, total)]
    return batch(lines)


# -- error_spike (seed) -----------------------------------------------------------------------


def test_error_spike_exactly_ten_percent_is_nothing() -> None:
    assert ErrorSpike().detect(mixed(10, 100)) == []
    assert ErrorSpike().detect(mixed(1, 10)) == []


def test_error_spike_just_above_ten_percent_is_medium() -> None:
    [draft] = ErrorSpike().detect(mixed(11, 100))
    assert draft.anomaly_type is AnomalyType.ERROR_SPIKE
    assert draft.severity is AnomalySeverity.MEDIUM
    assert draft.confidence == 0.8
    assert draft.evidence_count == 11
    assert draft.description == "High error rate: 11.0% (11/100 lines)"


def test_error_spike_thirty_percent_is_medium_above_is_high() -> None:
    [at] = ErrorSpike().detect(mixed(30, 100))
    assert at.severity is AnomalySeverity.MEDIUM
    [above] = ErrorSpike().detect(mixed(31, 100, severity="CRITICAL"))
    assert above.severity is AnomalySeverity.HIGH


def test_error_spike_counts_critical_and_keeps_at_most_50_line_ids() -> None:
    [draft] = ErrorSpike().detect(mixed(80, 100, severity="CRITICAL"))
    assert draft.evidence_count == 80
    assert len(draft.evidence_line_ids) == 50
    assert draft.evidence_line_ids[0] == "l0"


def test_error_spike_names_the_service_with_most_errors() -> None:
    lines = [line(i, "ERROR", "x", service="db") for i in range(3)]
    lines += [line(10 + i, "ERROR", "x", service="api") for i in range(2)]
    lines += [line(20 + i) for i in range(5)]
    [draft] = ErrorSpike().detect(batch(lines))
    assert draft.service == "db"


def test_warnings_are_not_errors() -> None:
    assert ErrorSpike().detect(mixed(50, 100, severity="WARNING")) == []


# -- unusual_pattern (seed) -------------------------------------------------------------------


def repeated(count: int, severity: str = "ERROR") -> BatchContext:
    lines = [line(i, severity, "Database connection failed") for i in range(count)]
    lines += [line(100 + i) for i in range(100)]
    return batch(lines)


def test_unusual_pattern_four_is_nothing_five_is_reported() -> None:
    assert UnusualPattern().detect(repeated(4)) == []
    [draft] = UnusualPattern().detect(repeated(5))
    assert draft.anomaly_type is AnomalyType.UNUSUAL_PATTERN
    assert draft.evidence_count == 5
    assert "occurred 5 times" in draft.description


def test_unusual_pattern_description_names_the_count() -> None:
    [draft] = UnusualPattern().detect(repeated(6))
    assert draft.description.endswith("occurred 6 times")
    assert "Database connection failed" in draft.description
    assert draft.severity is AnomalySeverity.MEDIUM


def test_unusual_pattern_only_counts_errors() -> None:
    assert UnusualPattern().detect(repeated(9, severity="WARNING")) == []


# -- new template in a burst ------------------------------------------------------------------


def templated(counts: dict[int, int], severity: str = "INFO", start: int = 0) -> list[BatchLine]:
    lines, n = [], start
    for tid, count in counts.items():
        for _ in range(count):
            lines.append(line(n, severity, f"template {tid} line {n}", template=tid))
            n += 1
    return lines


def test_new_template_burst_waits_for_history_then_reports_ten_lines() -> None:
    detector, stream = NewTemplateBurst(), uuid.uuid4()
    # during warm-up (3 batches) nothing is new
    for _ in range(3):
        assert detector.detect(batch(templated({1: 50}), stream=stream)) == []
    # 9 lines of a new template: nothing; it is known from then on
    assert detector.detect(batch(templated({1: 50, 2: 9}), stream=stream)) == []
    assert detector.detect(batch(templated({1: 50, 2: 30}), stream=stream)) == []
    [draft] = detector.detect(
        batch(templated({1: 50, 3: 10}), templates={3: "Disk <*> failing"}, stream=stream)
    )
    assert draft.evidence_template_ids == (3,)
    assert draft.evidence_count == 10
    assert draft.severity is AnomalySeverity.MEDIUM
    assert "Disk <*> failing" in draft.description


def test_new_template_burst_of_errors_is_high() -> None:
    detector, stream = NewTemplateBurst(), uuid.uuid4()
    for _ in range(3):
        detector.detect(batch(templated({1: 20}), stream=stream))
    errors = templated({4: 12}, severity="ERROR", start=100)
    [draft] = detector.detect(batch(templated({1: 20}) + errors, stream=stream))
    assert draft.severity is AnomalySeverity.HIGH


# -- template rate above its baseline ---------------------------------------------------------


def test_poisson_tail_matches_closed_forms() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(1, 2.0) == pytest.approx(1 - math.exp(-2.0))
    # P(X >= 3 | 1) = 1 - e^-1 (1 + 1 + 1/2)
    assert poisson_sf(3, 1.0) == pytest.approx(1 - math.exp(-1) * 2.5)
    # deep tail: the first term dominates, e^-1 / 20!
    assert poisson_sf(20, 1.0) == pytest.approx(math.exp(-1) / math.factorial(20), rel=0.06)


def test_template_rate_spike_flags_a_template_far_above_its_share() -> None:
    detector, stream = TemplateRateSpike(), uuid.uuid4()
    # baseline: template 7 is 1 line in 100, for 5 batches
    for _ in range(5):
        assert detector.detect(batch(templated({1: 99, 7: 1}), stream=stream)) == []
    [draft] = detector.detect(batch(templated({1: 70, 7: 30}), stream=stream))
    assert draft.evidence_template_ids == (7,)
    assert draft.evidence_count == 30
    assert draft.severity is AnomalySeverity.HIGH  # 30 >= 10 x 1.1 expected
    assert draft.anomaly_type is AnomalyType.UNUSUAL_PATTERN
    assert 0.9 < draft.confidence <= 0.95


def test_template_rate_spike_stays_quiet_within_noise_and_without_history() -> None:
    detector, stream = TemplateRateSpike(), uuid.uuid4()
    for _ in range(4):
        detector.detect(batch(templated({1: 80, 7: 20}), stream=stream))
    # only 4 batches of history: nothing even for a big jump
    assert detector.detect(batch(templated({1: 10, 7: 90}), stream=stream)) == []
    fresh = uuid.uuid4()
    for _ in range(6):
        detector.detect(batch(templated({1: 80, 7: 20}), stream=fresh))
    # 28 where ~20 are expected is noise (not 3x)
    assert detector.detect(batch(templated({1: 72, 7: 28}), stream=fresh)) == []


# -- error-class lines without an error severity ---------------------------------------------


def test_vocabulary_classes() -> None:
    assert classify("kernel: FATAL machine check") == "crash"
    assert classify("goroutine panic: nil map") == "crash"
    assert classify("java.lang.OutOfMemoryError") == ""  # not a whole word
    assert classify("Out of memory: Killed process <*>") == "exhaustion"
    assert classify("Unhandled exception in worker <*>") == "error"
    assert classify("v1.2.3 started in 35 ms") == ""


def test_hidden_errors_one_fatal_info_line_is_high() -> None:
    lines = [line(1, "INFO", "kernel: FATAL machine check on cpu 3", template=5)]
    lines += [line(2 + i) for i in range(20)]
    [draft] = HiddenErrors().detect(batch(lines, templates={5: "kernel: FATAL machine check <*>"}))
    assert draft.severity is AnomalySeverity.HIGH
    assert draft.anomaly_type is AnomalyType.ERROR_SPIKE
    assert draft.evidence_line_ids == ("l1",)


def test_hidden_errors_needs_three_error_class_lines() -> None:
    text = "Unhandled exception in worker <*>"

    def make(count: int) -> BatchContext:
        lines = [
            line(i, "WARNING", f"Unhandled exception in worker {i}", template=9)
            for i in range(count)
        ]
        return batch(lines + [line(50 + i) for i in range(10)], templates={9: text})

    assert HiddenErrors().detect(make(2)) == []
    [draft] = HiddenErrors().detect(make(3))
    assert draft.severity is AnomalySeverity.MEDIUM and draft.evidence_count == 3


def test_hidden_errors_vocabulary_is_read_from_the_template_not_the_variables() -> None:
    # a user called "panic" is a variable: the template has no crash word
    lines = [line(i, "INFO", "login by user panic", template=3) for i in range(5)]
    assert HiddenErrors().detect(batch(lines, templates={3: "login by user <*>"})) == []


def test_hidden_errors_learns_a_template_logged_as_error() -> None:
    detector = HiddenErrors()
    texts = {4: "payment <*> declined"}
    detector.detect(batch([line(0, "ERROR", "payment 1 declined", template=4)], templates=texts))
    quiet = [line(i, "INFO", f"payment {i} declined", template=4) for i in range(1, 4)]
    [draft] = detector.detect(batch(quiet, templates=texts))
    assert draft.evidence_count == 3


def test_out_of_memory_is_resource_exhaustion() -> None:
    lines = [line(1, "WARNING", "Out of memory: Killed process 4242 (python)", template=8)]
    [draft] = HiddenErrors().detect(
        batch(lines, templates={8: "Out of memory: Killed process <*> <*>"})
    )
    assert draft.anomaly_type is AnomalyType.RESOURCE_EXHAUSTION


# -- cost -------------------------------------------------------------------------------------


def test_every_detector_on_a_batch_of_1000_lines_is_fast() -> None:
    detectors = default_detectors()
    lines = [
        line(i, "ERROR" if i % 7 == 0 else "INFO", f"event {i % 40} happened", template=i % 40)
        for i in range(1000)
    ]
    context = batch(lines, templates={t: f"event {t} happened" for t in range(40)})
    for _ in range(6):  # warm up the memory of the template detectors
        for detector in detectors:
            detector.detect(context)
    started = time.perf_counter()
    for detector in detectors:
        detector.detect(context)
    assert time.perf_counter() - started < 0.5  # the bench measures it; this catches blow-ups


def test_hidden_errors_does_not_learn_a_template_mostly_logged_as_info() -> None:
    detector = HiddenErrors()
    texts = {4: "request <*> served"}
    mixed_lines = [
        line(i, "ERROR" if i < 3 else "INFO", f"request {i} served", template=4) for i in range(10)
    ]
    assert detector.detect(batch(mixed_lines, templates=texts)) == []
    assert detector.detect(batch(mixed_lines, templates=texts)) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("worker panicked at index out of bounds", "crash"),
        ("job aborted by scheduler", "error"),
        ("printing stacktrace for request", "error"),
        ("write failed: no space left on device", "exhaustion"),
        ("segmentation fault (core dumped)", "crash"),
        ("oom-killer invoked", "exhaustion"),
        ("all good, 0 errors", ""),
    ],
)
def test_every_vocabulary_form_is_read(text: str, kind: str) -> None:
    assert classify(text) == kind
