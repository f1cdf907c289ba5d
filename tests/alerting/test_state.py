"""The per-series lifecycle state machine, as tables of evaluations and expected outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentdeck.alerting.alerts.fingerprint import fingerprint
from agentdeck.alerting.alerts.state import (
    Condition,
    Event,
    Memory,
    NoData,
    Phase,
    Timing,
    absent_condition,
    step,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T, F, ND, ERR, HOLD = (
    Condition.true,
    Condition.false,
    Condition.nodata,
    Condition.error,
    Condition.hold,
)


def run(
    conditions: list[Condition], *, every: float = 10, for_s: float = 0, keep_s: float = 0
) -> list[tuple[str, tuple[str, ...]]]:
    """Evaluate a series every ``every`` seconds from T0; (phase, events) after each step."""
    timing = Timing(for_seconds=for_s, keep_firing_for_seconds=keep_s)
    memory: Memory | None = None
    out = []
    for n, condition in enumerate(conditions):
        result = step(
            memory, condition, at=T0 + timedelta(seconds=n * every), timing=timing, value=n
        )
        memory = result.memory
        out.append((result.phase.value, tuple(e.value for e in result.events)))
    return out


CASES = [
    # name, conditions, for, keep_firing_for, expected (phase, events) per evaluation
    ("false stays inactive", [F, F], 0, 0, [("inactive", ()), ("inactive", ())]),
    ("for 0 fires at once", [T], 0, 0, [("firing", ("fired",))]),
    (
        "fires then resolves",
        [T, T, F],
        0,
        0,
        [("firing", ("fired",)), ("firing", ()), ("inactive", ("resolved",))],
    ),
    (
        "pending until for elapsed (inclusive)",
        [T, T, T, T],
        30,
        0,
        [
            ("pending", ("pending",)),
            ("pending", ()),
            ("pending", ()),
            ("firing", ("fired",)),  # 30 s after the first true evaluation
        ],
    ),
    (
        "pending cancelled by a false evaluation",
        [T, T, F, T],
        30,
        0,
        [
            ("pending", ("pending",)),
            ("pending", ()),
            ("inactive", ("cancelled",)),
            ("pending", ("pending",)),  # the for timer starts again
        ],
    ),
    (
        "keep_firing_for holds a flapping condition",
        [T, F, T, F, F, F],
        0,
        20,
        [
            ("firing", ("fired",)),
            ("firing", ("kept",)),
            ("firing", ()),  # true again: the timer is forgotten
            ("firing", ("kept",)),  # t=30: timer to t=50
            ("firing", ("kept",)),  # t=40
            ("inactive", ("resolved",)),  # t=50: 20 s after the first false evaluation
        ],
    ),
    (
        "keep_firing_for does not apply to pending",
        [T, F],
        30,
        60,
        [("pending", ("pending",)), ("inactive", ("cancelled",))],
    ),
    (
        "an evaluation error changes nothing",
        [T, HOLD, HOLD, F],
        0,
        0,
        [("firing", ("fired",)), ("firing", ()), ("firing", ()), ("inactive", ("resolved",))],
    ),
    (
        "error while pending keeps the for timer",
        [T, HOLD, T, T],
        30,
        0,
        [("pending", ("pending",)), ("pending", ()), ("pending", ()), ("firing", ("fired",))],
    ),
    ("hold on an inactive series", [HOLD], 0, 0, [("inactive", ())]),
    (
        "nodata entered at once, ignoring for, left when data comes back",
        [ND, ND, F],
        60,
        0,
        [("nodata", ("nodata",)), ("nodata", ()), ("inactive", ("resolved",))],
    ),
    (
        "error state entered at once and resolved when the rule evaluates again",
        [ERR, ERR, F],
        60,
        60,
        [("error", ("error",)), ("error", ()), ("inactive", ("resolved",))],
    ),
    (
        "nodata then true restarts the lifecycle",
        [ND, T],
        0,
        0,
        [("nodata", ("nodata",)), ("firing", ("resolved", "fired"))],
    ),
    (
        "error after nodata is a new raise",
        [ND, ERR],
        0,
        0,
        [("nodata", ("nodata",)), ("error", ("resolved", "error"))],
    ),
]


@pytest.mark.parametrize(
    ("conditions", "for_s", "keep_s", "expected"),
    [pytest.param(c, f, k, e, id=name) for name, c, f, k, e in CASES],
)
def test_lifecycle(
    conditions: list[Condition],
    for_s: float,
    keep_s: float,
    expected: list[tuple[str, tuple[str, ...]]],
) -> None:
    assert run(conditions, for_s=for_s, keep_s=keep_s) == expected


def test_firing_memory_records_times_and_value() -> None:
    timing = Timing(for_seconds=20)
    first = step(None, T, at=T0, timing=timing, value=1.5)
    assert first.memory == Memory(Phase.pending, T0, last_true_at=T0, value=1.5)
    at = T0 + timedelta(seconds=20)
    fired = step(first.memory, T, at=at, timing=timing, value=2.5)
    assert fired.events == (Event.fired,)
    assert fired.memory == Memory(Phase.firing, T0, fired_at=at, last_true_at=at, value=2.5)
    later = T0 + timedelta(seconds=40)
    still = step(fired.memory, T, at=later, timing=timing, value=3.0)
    assert still.memory is not None
    assert (still.memory.fired_at, still.memory.last_true_at, still.memory.value) == (
        at,
        later,
        3.0,
    )


def test_keep_firing_until_is_persisted_from_first_false() -> None:
    timing = Timing(keep_firing_for_seconds=60)
    fired = step(None, T, at=T0, timing=timing, value=1)
    kept = step(fired.memory, F, at=T0 + timedelta(seconds=15), timing=timing)
    assert kept.memory is not None
    assert kept.memory.keep_firing_until == T0 + timedelta(seconds=75)
    # another replica continues from the stored memory: same deadline
    again = step(kept.memory, F, at=T0 + timedelta(seconds=74), timing=timing)
    assert again.phase is Phase.firing
    done = step(again.memory, F, at=T0 + timedelta(seconds=75), timing=timing)
    assert done.events == (Event.resolved,) and done.memory is None


@pytest.mark.parametrize(
    ("mode", "errored", "expected"),
    [
        ("ok", False, Condition.false),
        ("ok", True, Condition.false),
        ("alerting", False, Condition.true),
        ("alerting", True, Condition.true),
        ("nodata", False, Condition.nodata),
        ("nodata", True, Condition.error),
    ],
)
def test_absent_condition(mode: str, errored: bool, expected: Condition) -> None:
    assert absent_condition(mode, errored=errored) is expected
    assert absent_condition(NoData(mode), errored=errored) is expected


def test_fingerprint_is_stable_and_order_independent() -> None:
    a = fingerprint({"alertname": "HighCPU", "agent": "a1", "severity": "critical"})
    b = fingerprint({"severity": "critical", "agent": "a1", "alertname": "HighCPU"})
    assert a == b
    assert len(a) == 32 and int(a, 16) >= 0
    assert a != fingerprint({"alertname": "HighCPU", "agent": "a2", "severity": "critical"})
    # concatenation cannot collide, and empty values count as absent
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})
    assert fingerprint({"a": "1", "b": ""}) == fingerprint({"a": "1"})
    # a fixed vector, so the hash never changes between releases unnoticed
    assert (
        fingerprint({"alertname": "x"}) == "1965db7604b7252b9052c1a233e32b60"
    )  # sha256("alertname\xffx\xff")[:32]
