"""The per-series alert lifecycle as pure functions (no I/O, no clock).

One series of one rule moves ``inactive -> pending -> firing -> inactive`` (the step that
leaves ``firing`` is the *resolve*), plus ``nodata`` and ``error`` for rule-level outcomes.
Given the previous memory of a series, what the evaluation at ``at`` saw (a
:class:`Condition`) and the rule's timing, :func:`step` returns the next memory and the events
the change means. The evaluator persists the memory (``alert_rule_states``) and turns events
into alerts; the rule backtest replays the same function over past evaluation times.

Semantics follow Prometheus:

* ``for``: a true condition first makes the series *pending*; it fires once it has held for
  ``for_seconds`` (at once when ``for_seconds`` is 0). A false evaluation while pending drops
  the series back to inactive (``cancelled``).
* ``keep_firing_for``: a firing series whose condition turns false keeps firing until
  ``keep_firing_for_seconds`` after the *first* false evaluation; true again clears the timer.
* an evaluation error (:attr:`Condition.hold`) leaves every known series as it was, so a
  failing query never resolves (or fires) anything by itself.

Rule-level outcomes use a synthetic series with no labels of its own: when the query returns
no series at all, or fails, :func:`absent_condition` maps the rule's ``no_data_state`` to the
condition that series sees (``ok`` -> false, ``alerting`` -> true, ``nodata`` -> the ``nodata``
or ``error`` phase, entered at once, as Grafana does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Phase(StrEnum):
    inactive = "inactive"
    pending = "pending"
    firing = "firing"
    nodata = "nodata"
    error = "error"


class Condition(StrEnum):
    """What one evaluation saw for one series."""

    true = "true"  # the expression returned this series (the condition holds)
    false = "false"  # the series is absent from the result
    nodata = "nodata"  # the rule asks for the ``nodata`` state when there is no data
    error = "error"  # the rule asks for the ``error`` state when evaluation fails
    hold = "hold"  # evaluation failed: keep the series as it is


class Event(StrEnum):
    pending = "pending"  # inactive -> pending
    fired = "fired"  # -> firing (an alert starts)
    cancelled = "cancelled"  # pending -> inactive, never fired
    kept = "kept"  # condition false, still firing because of keep_firing_for
    resolved = "resolved"  # firing / nodata / error -> inactive (the alert ends)
    nodata = "nodata"  # -> nodata (an alert starts, reason nodata)
    error = "error"  # -> error (an alert starts, reason error)


class NoData(StrEnum):
    """A rule's ``no_data_state`` (same values as ``models.NoDataState``)."""

    ok = "ok"
    alerting = "alerting"
    nodata = "nodata"


@dataclass(frozen=True, slots=True)
class Timing:
    for_seconds: float = 0.0
    keep_firing_for_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Memory:
    """What is remembered of one series between evaluations (an inactive series has none)."""

    phase: Phase
    active_since: datetime
    fired_at: datetime | None = None
    last_true_at: datetime | None = None
    keep_firing_until: datetime | None = None
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Step:
    memory: Memory | None  # None: the series is inactive (forget it)
    events: tuple[Event, ...] = ()

    @property
    def phase(self) -> Phase:
        return self.memory.phase if self.memory else Phase.inactive


RAISED = frozenset({Phase.firing, Phase.nodata, Phase.error})


def absent_condition(no_data_state: NoData | str, *, errored: bool) -> Condition:
    """The condition the rule-level series sees when the query returned nothing or failed."""
    mode = NoData(no_data_state)
    if mode is NoData.ok:
        return Condition.false
    if mode is NoData.alerting:
        return Condition.true
    return Condition.error if errored else Condition.nodata


def _fire(at: datetime, value: float | None, since: datetime) -> Memory:
    return Memory(Phase.firing, since, fired_at=at, last_true_at=at, value=value)


def _start(at: datetime, value: float | None, timing: Timing) -> Step:
    """A true condition on an inactive series."""
    if timing.for_seconds <= 0:
        return Step(_fire(at, value, at), (Event.fired,))
    return Step(Memory(Phase.pending, at, last_true_at=at, value=value), (Event.pending,))


def step(
    prev: Memory | None,
    condition: Condition,
    *,
    at: datetime,
    timing: Timing,
    value: float | None = None,
) -> Step:
    """The next memory of a series after an evaluation at ``at`` that saw ``condition``."""
    phase = prev.phase if prev else Phase.inactive
    if condition is Condition.hold:
        return Step(prev)

    if condition in (Condition.nodata, Condition.error):
        target = Phase.nodata if condition is Condition.nodata else Phase.error
        event = Event.nodata if condition is Condition.nodata else Event.error
        if prev is not None and phase is target:
            return Step(prev)
        events: tuple[Event, ...] = (event,)
        if phase in RAISED:
            events = (Event.resolved, event)
        return Step(Memory(target, at), events)

    if condition is Condition.true:
        if prev is None or phase is Phase.inactive:
            return _start(at, value, timing)
        if phase in (Phase.nodata, Phase.error):
            started = _start(at, value, timing)
            return Step(started.memory, (Event.resolved, *started.events))
        if phase is Phase.pending:
            if at - prev.active_since >= timedelta(seconds=timing.for_seconds):
                return Step(_fire(at, value, prev.active_since), (Event.fired,))
            return Step(replace(prev, last_true_at=at, value=value))
        # firing: refresh, and forget a running keep_firing_for timer
        return Step(replace(prev, last_true_at=at, keep_firing_until=None, value=value))

    # condition false
    if prev is None or phase is Phase.inactive:
        return Step(None)
    if phase is Phase.pending:
        return Step(None, (Event.cancelled,))
    if phase is Phase.firing and timing.keep_firing_for_seconds > 0:
        until = prev.keep_firing_until or at + timedelta(seconds=timing.keep_firing_for_seconds)
        if at < until:
            return Step(replace(prev, keep_firing_until=until), (Event.kept,))
    return Step(None, (Event.resolved,))
