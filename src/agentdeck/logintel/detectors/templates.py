"""Detectors on log templates, with a memory of earlier batches per stream.

* :class:`NewTemplateBurst` — a template this stream never had appears many times at once;
* :class:`TemplateRateSpike` — a known template's share of the batch is far above its own
  baseline (a one-sided Poisson tail test);
* :class:`HiddenErrors` — lines that read as errors (``FATAL``, ``panic``, ``exception``, ...)
  but were not logged as ERROR/CRITICAL.

The memory lives in the detector (one instance per app; batches of a stream are analysed one
at a time by the leased batch loop) and is bounded per stream; it starts empty after a
restart, so each detector waits for a few batches of history before it reports anything.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Generic, TypeVar
from uuid import UUID

from agentdeck.logintel.analysis import (
    AnomalyDraft,
    AnomalySeverity,
    AnomalyType,
    BatchContext,
    BatchLine,
)
from agentdeck.logintel.detectors.common import ERROR_SEVERITIES, is_error, line_ids, top_service

#: Streams a detector remembers (the least recently analysed is forgotten beyond it).
MAX_STREAMS = 10_000
#: Templates remembered per stream.
MAX_TEMPLATES = 5_000


def _label(batch: BatchContext, template_id: int, lines: Sequence[BatchLine]) -> str:
    text = batch.templates.get(template_id) or lines[0].message
    return text if len(text) <= 160 else text[:157] + "..."


T = TypeVar("T")


class _PerStream(Generic[T]):
    """A bounded map stream → state, least recently used forgotten first."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._states: OrderedDict[UUID, T] = OrderedDict()

    def get(self, stream_id: UUID) -> T:
        state = self._states.get(stream_id)
        if state is None:
            state = self._states[stream_id] = self._make()
            while len(self._states) > MAX_STREAMS:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(stream_id)
        return state


class _Seen:
    def __init__(self) -> None:
        self.batches = 0
        self.templates: OrderedDict[int, None] = OrderedDict()

    def remember(self, template_id: int) -> None:
        self.templates[template_id] = None
        self.templates.move_to_end(template_id)
        while len(self.templates) > MAX_TEMPLATES:
            self.templates.popitem(last=False)


class NewTemplateBurst:
    """``unusual_pattern`` when a template the stream has not had in its earlier batches
    appears at least 10 times in one batch; medium, high when most of those lines are
    errors; confidence 0.6. Quiet until the stream has 3 batches of history (after a restart
    every template would look new)."""

    name = "new_template_burst"
    min_lines = 10
    warmup_batches = 3
    confidence = 0.6

    def __init__(self) -> None:
        self._streams: _PerStream[_Seen] = _PerStream(_Seen)

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]:
        seen = self._streams.get(batch.stream_id)
        groups = batch.by_template()
        drafts = []
        if seen.batches >= self.warmup_batches:
            for tid, lines in groups.items():
                if tid in seen.templates or len(lines) < self.min_lines:
                    continue
                errors = sum(1 for line in lines if is_error(line))
                drafts.append(
                    AnomalyDraft(
                        anomaly_type=AnomalyType.UNUSUAL_PATTERN,
                        severity=AnomalySeverity.HIGH
                        if 2 * errors > len(lines)
                        else AnomalySeverity.MEDIUM,
                        service=top_service(lines),
                        description=f"New log template appeared {len(lines)} times: "
                        f"{_label(batch, tid, lines)!r}",
                        confidence=self.confidence,
                        detector=self.name,
                        recommended_actions=(
                            "Check what changed: a deployment, a new code path, a new failure",
                        ),
                        evidence_line_ids=line_ids(lines),
                        evidence_template_ids=(tid,),
                        evidence_count=len(lines),
                    )
                )
        seen.batches += 1
        for tid in groups:
            seen.remember(tid)
        return drafts


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam): the tail summed from k upwards in log space (exact to
    double precision for the small probabilities the test cares about)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:
        # the upper tail is large here: 1 - P(X < k)
        term = math.exp(-lam)
        below = term
        for i in range(1, k):
            term *= lam / i
            below += term
        return max(0.0, 1.0 - below)
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total, term = 0.0, math.exp(log_term)
    i = k
    while term > 0 and (total == 0 or term > total * 1e-17):
        total += term
        i += 1
        term *= lam / i
    return min(1.0, total)


class _History:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.batches: deque[tuple[int, dict[int, int]]] = deque()
        self.totals = 0
        self.counts: dict[int, int] = {}

    def add(self, total: int, counts: dict[int, int], window: int) -> None:
        self.batches.append((total, counts))
        self.totals += total
        for tid, n in counts.items():
            self.counts[tid] = self.counts.get(tid, 0) + n
        while len(self.batches) > window:
            old_total, old_counts = self.batches.popleft()
            self.totals -= old_total
            for tid, n in old_counts.items():
                left = self.counts[tid] - n
                if left:
                    self.counts[tid] = left
                else:
                    del self.counts[tid]


class TemplateRateSpike:
    """A known template's count far above its own baseline.

    Baseline: the template's share of the stream's lines over its last 20 batches (at least
    5 needed), ``p = (count + 0.5) / lines``. In a batch of ``n`` lines the template is
    expected ``λ = p·n`` times; observing ``k`` lines is a spike when ``k >= 10``,
    ``k >= 3λ`` and the one-sided Poisson tail ``P(X >= k | λ) < 1e-6``. No seasonality is
    modelled: the test compares shares of a batch, not rates over the clock. The anomaly is
    ``error_spike`` when most of the template's lines are errors, else ``unusual_pattern``;
    medium, high when ``k >= 10λ``; confidence ``1 - tail`` capped at 0.95."""

    name = "template_rate_spike"
    window = 20
    min_history = 5
    min_lines = 10
    min_ratio = 3.0
    high_ratio = 10.0
    p_value = 1e-6

    def __init__(self) -> None:
        self._streams: _PerStream[_History] = _PerStream(_History)

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]:
        history = self._streams.get(batch.stream_id)
        groups = batch.by_template()
        n = len(batch.lines)
        drafts = []
        if len(history.batches) >= self.min_history and history.totals:
            for tid, lines in groups.items():
                past = history.counts.get(tid)
                k = len(lines)
                if past is None or k < self.min_lines:
                    continue  # a template new to the stream is NewTemplateBurst's
                lam = (past + 0.5) / history.totals * n
                if k < self.min_ratio * lam:
                    continue
                tail = poisson_sf(k, lam)
                if tail >= self.p_value:
                    continue
                errors = sum(1 for line in lines if is_error(line))
                drafts.append(
                    AnomalyDraft(
                        anomaly_type=AnomalyType.ERROR_SPIKE
                        if 2 * errors > k
                        else AnomalyType.UNUSUAL_PATTERN,
                        severity=AnomalySeverity.HIGH
                        if k >= self.high_ratio * lam
                        else AnomalySeverity.MEDIUM,
                        service=top_service(lines),
                        description=f"Template rate {k / lam:.1f}x its baseline: {k} lines, "
                        f"{lam:.1f} expected (Poisson tail {tail:.1e}): "
                        f"{_label(batch, tid, lines)!r}",
                        confidence=min(0.95, 1.0 - tail),
                        detector=self.name,
                        recommended_actions=(
                            "Compare with the template's usual volume (Templates page)",
                            "Look for a retry storm or a client sending more than usual",
                        ),
                        evidence_line_ids=line_ids(lines),
                        evidence_template_ids=(tid,),
                        evidence_count=k,
                    )
                )
        counts = {tid: len(lines) for tid, lines in groups.items()}
        if len(history.counts) + len(counts) > MAX_TEMPLATES:
            history.reset()  # too varied to baseline: start over
        history.add(n, counts, self.window)
        return drafts


#: Words that make a line an error whatever severity it was logged with. Matched on the
#: template's text (variables are ``<*>``, so a user called "panic" does not count).
CRASH_WORDS = r"fatal|panic(?:ked)?|segfault|segmentation fault|core dumped|kernel oops"
EXHAUSTION_WORDS = r"out of memory|oom(?:-killer)?|no space left|too many open files"
ERROR_WORDS = r"exception|traceback|unhandled|stack ?trace|error|failed|failure|abort(?:ed)?"
#: One pass over the lower-cased text; the first group that matched names the class.
_CLASSES = re.compile(
    rf"\b(?:(?P<crash>{CRASH_WORDS})|(?P<exhaustion>{EXHAUSTION_WORDS})|(?P<error>{ERROR_WORDS}))\b"
)
_RANK = {"crash": 3, "exhaustion": 2, "error": 1, "": 0}
#: A word of every vocabulary entry: text without any of them cannot match (a cheap filter
#: before the regular expression, which costs ~30 µs on a 200-character line).
_TRIGGERS = frozenset(
    word.split("(")[0].split("?")[0].split(" ")[0]
    for group in (CRASH_WORDS, EXHAUSTION_WORDS, ERROR_WORDS)
    for word in group.split("|")
) | {"aborted", "panicked", "stacktrace"}
_WORDS = re.compile(r"[a-z]+")


class _Vocabulary:
    def __init__(self) -> None:
        #: template id → its class ("crash", "exhaustion", "error", "" for none)
        self.classes: OrderedDict[int, str] = OrderedDict()
        #: message → its class, for lines without a template id (bounded)
        self.messages: dict[str, str] = {}


#: Every match of the vocabularies starts with one of these (tested): a whole batch's texts are
#: searched for them at once, and the vocabularies are tried only where they occur.
_ANCHORS = (
    "fail",
    "error",
    "exception",
    "traceback",
    "unhandled",
    "stack",
    "abort",
    "fatal",
    "panic",
    "segfault",
    "segmentation fault",
    "core dumped",
    "kernel oops",
    "out of memory",
    "oom",
    "no space left",
    "too many open files",
)


def classify(text: str) -> str:
    """``crash``, ``exhaustion``, ``error`` or ``""``: the error class ``text`` reads as (the
    worst class any of its words has)."""
    lowered = text.lower()
    if _TRIGGERS.isdisjoint(_WORDS.findall(lowered)):
        return ""
    best = ""
    for match in _CLASSES.finditer(lowered):
        found = match.lastgroup or ""
        if _RANK[found] > _RANK[best]:
            best = found
            if best == "crash":
                break
    return best


def classify_many(texts: Sequence[str]) -> list[str]:
    """:func:`classify` of each of ``texts``, without a pass of Python per text: their
    lower-cased texts, joined by newlines (which no vocabulary entry holds, and which bound a
    word as a text's ends do), are searched for each anchor at C speed, and the vocabularies
    are matched only where an anchor occurs (every match starts at one)."""
    lowered = list(map(str.lower, texts))
    joined = "\n".join(lowered)
    starts = list(accumulate((len(text) + 1 for text in lowered), initial=0))
    best = [""] * len(texts)
    for anchor in _ANCHORS:
        at = joined.find(anchor)
        while at >= 0:
            match = _CLASSES.match(joined, at)
            if match is not None:
                index = bisect_right(starts, at) - 1
                found = match.lastgroup or ""
                if _RANK[found] > _RANK[best[index]]:
                    best[index] = found
            at = joined.find(anchor, at + 1)
    return best


class HiddenErrors:
    """Lines that are errors by their words but not by their severity (DEBUG, INFO, WARNING).

    A template's class is learned once per stream: from its text (the crash, exhaustion and
    error vocabularies above), or ``error`` once most of its lines in a batch were logged as
    ERROR or CRITICAL. Per (service, template) in a batch: crash-class lines (``FATAL``,
    ``panic``, ...) → ``error_spike`` high from 1 line; exhaustion-class (out of memory,
    no space left) → ``resource_exhaustion`` high from 1 line; error-class → ``error_spike``
    medium from 3 lines. Confidence 0.75 (crash, exhaustion), 0.6 (error)."""

    name = "hidden_errors"
    min_error_lines = 3

    def __init__(self) -> None:
        self._streams: _PerStream[_Vocabulary] = _PerStream(_Vocabulary)

    def _class(self, vocab: _Vocabulary, batch: BatchContext, line: BatchLine) -> str:
        tid = line.template_id
        if tid is None:  # no miner: read the line itself (its classes cached per message)
            found = vocab.messages.get(line.message)
            if found is None:
                found = classify(line.message)
                if len(vocab.messages) >= MAX_TEMPLATES:
                    vocab.messages.clear()
                vocab.messages[line.message] = found
            return found
        found = vocab.classes.get(tid)
        if found is None:
            found = classify(batch.templates.get(tid) or line.message)
            vocab.classes[tid] = found
            while len(vocab.classes) > MAX_TEMPLATES:
                vocab.classes.popitem(last=False)
        return found

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]:
        vocab = self._streams.get(batch.stream_id)
        # learn from what was logged as an error first: a template most of whose lines in
        # the batch are ERROR/CRITICAL is error-class from then on
        balance: dict[int, int] = {}
        for line in batch.lines:
            tid = line.template_id
            if tid is not None:
                balance[tid] = balance.get(tid, 0) + (
                    1 if line.severity in ERROR_SEVERITIES else -1
                )
        for tid, lead in balance.items():
            if lead > 0 and not vocab.classes.get(tid):
                vocab.classes[tid] = "error"
        # the classes of messages without a template id, unknown to the stream: one pass
        messages = vocab.messages
        unknown = list(
            {
                line.message: None
                for line in batch.lines
                if line.template_id is None
                and line.severity not in ERROR_SEVERITIES
                and line.message not in messages
            }
        )
        learned = dict(zip(unknown, classify_many(unknown), strict=True))
        for message, found in learned.items():
            if len(messages) >= MAX_TEMPLATES:
                messages.clear()
            messages[message] = found
        classes = vocab.classes
        groups: dict[tuple[str, int | None, str], list[BatchLine]] = {}
        for line in batch.lines:
            if line.severity in ERROR_SEVERITIES:
                continue
            tid = line.template_id
            kind = learned.get(line.message) if tid is None else classes.get(tid)
            if kind is None:  # a template new to the stream, or a message cached before
                kind = self._class(vocab, batch, line)
            if kind:
                key = (line.service, tid, kind)
                groups.setdefault(key, []).append(line)
        drafts = []
        for (service, tid, kind), lines in groups.items():
            if kind == "error" and len(lines) < self.min_error_lines:
                continue
            severities = sorted({line.severity for line in lines})
            label = batch.templates.get(tid) if tid is not None else None
            text = label or lines[0].message
            text = text if len(text) <= 160 else text[:157] + "..."
            drafts.append(
                AnomalyDraft(
                    anomaly_type=AnomalyType.RESOURCE_EXHAUSTION
                    if kind == "exhaustion"
                    else AnomalyType.ERROR_SPIKE,
                    severity=AnomalySeverity.MEDIUM if kind == "error" else AnomalySeverity.HIGH,
                    service=service,
                    description=f"{len(lines)} {kind}-class lines logged as "
                    f"{'/'.join(severities)}: {text!r}",
                    confidence=0.6 if kind == "error" else 0.75,
                    detector=self.name,
                    recommended_actions=(
                        "Treat these lines as errors: find their cause",
                        "Log them with the ERROR or CRITICAL severity",
                    ),
                    evidence_line_ids=line_ids(lines),
                    evidence_template_ids=(tid,) if tid is not None else (),
                    evidence_count=len(lines),
                )
            )
        return drafts
