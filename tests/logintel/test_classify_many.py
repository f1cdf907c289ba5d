"""The hidden-error detector reads a batch's texts without a template id in one pass
(``classify_many``): the same classes as one text at a time, and the same anomalies."""

from __future__ import annotations

import random
import uuid

import pytest

from agentdeck.logintel.analysis import AnomalySeverity, AnomalyType, BatchContext, BatchLine
from agentdeck.logintel.detectors import HiddenErrors
from agentdeck.logintel.detectors.templates import (
    _ANCHORS,
    CRASH_WORDS,
    ERROR_WORDS,
    EXHAUSTION_WORDS,
    classify,
    classify_many,
)

TEXTS = [
    ("kernel: FATAL machine check", "crash"),
    ("goroutine panic: nil map", "crash"),
    ("java.lang.OutOfMemoryError", ""),
    ("Out of memory: Killed process 4711", "exhaustion"),
    ("Unhandled exception in worker 3", "error"),
    ("v1.2.3 started in 35 ms", ""),
    ("write failed: no space left on device", "exhaustion"),
    ("segmentation fault (core dumped)", "crash"),
    ("oom-killer invoked", "exhaustion"),
    ("all good, 0 errors", ""),
    ("error2 is a variable name", ""),  # not a whole word
    ("x_error", ""),
    ("first line ok\nsecond line: FATAL", "crash"),  # a newline inside a text
    ("stack\ntrace", ""),  # the phrase needs a space
    ("Stack Trace follows", "error"),
    ("too many open files", "exhaustion"),
    ("", ""),
    ("failed, then panicked", "crash"),  # the worst class wins
    ("room 12 booked", ""),  # "oom" inside a word
]


def test_each_text_gets_its_class() -> None:
    texts = [text for text, _ in TEXTS]
    assert classify_many(texts) == [kind for _, kind in TEXTS]
    assert classify_many([]) == []


def test_every_vocabulary_entry_starts_with_an_anchor() -> None:
    for group in (CRASH_WORDS, EXHAUSTION_WORDS, ERROR_WORDS):
        for entry in group.split("|"):
            literal = entry.split("(")[0]
            if "?" in literal:  # the character before ``?`` is optional
                literal = literal[: literal.index("?") - 1]
            assert any(literal.startswith(anchor) for anchor in _ANCHORS), entry


def test_same_classes_as_one_text_at_a_time() -> None:
    pieces = [
        "ERROR", "error", " ", "fail", "ed", "ure", "x", "\n", "oom", "-killer", "out of memory",
        "stack", " trace", "1", "_", "é", "İ", "Σ", "panic", "ked", "abort", "core dumped",
        "no space left", "FATAL", "segfault", ".", ":",
    ]  # fmt: skip
    rng = random.Random(17)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(5000)]
    assert classify_many(texts) == [classify(text) for text in texts]
    assert any(classify_many(texts))  # the corpus has every class
    assert {"crash", "exhaustion", "error", ""} == set(classify_many(texts))


def _line(n: int, message: str, severity: str = "INFO") -> BatchLine:
    return BatchLine(
        id=f"l{n}",
        ts_ns=1_700_000_000_000_000_000 + n,
        service="api",
        severity=severity,
        message=message,
    )


def _batch(lines: list[BatchLine]) -> BatchContext:
    return BatchContext(
        tenant_id=uuid.UUID(int=1),
        stream_id=uuid.UUID(int=2),
        stream_name="s",
        batch_id=uuid.uuid4(),
        lines=lines,
    )


@pytest.mark.parametrize("again", [False, True])
def test_lines_without_templates_are_read_in_one_pass(again: bool) -> None:
    detector = HiddenErrors()
    lines = [
        _line(0, "worker 1 panicked"),
        _line(1, "request 1 failed", "DEBUG"),
        _line(2, "request 2 failed"),
        _line(3, "request 3 failed", "WARNING"),
        _line(4, "request 4 failed", "ERROR"),  # logged as an error: not hidden
        _line(5, "request 5 served"),
    ]
    if again:  # the messages' classes come from the stream's memory the second time
        detector.detect(_batch(lines))
    drafts = {d.severity: d for d in detector.detect(_batch(lines))}
    crash, errors = drafts[AnomalySeverity.HIGH], drafts[AnomalySeverity.MEDIUM]
    assert crash.anomaly_type is AnomalyType.ERROR_SPIKE
    assert crash.evidence_line_ids == ("l0",)
    assert errors.evidence_line_ids == ("l1", "l2", "l3")
    assert errors.description.startswith("3 error-class lines logged as DEBUG/INFO/WARNING")
