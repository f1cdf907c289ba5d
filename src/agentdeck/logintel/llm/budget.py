"""Per-tenant token budgets over a sliding hour (in memory, per replica)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

WINDOW_SECONDS = 3600.0


@dataclass
class Spend:
    """Tokens counted against a tenant at ``at`` (a reservation until it is settled)."""

    at: float
    tokens: int


@dataclass
class TokenBudget:
    """At most ``per_hour`` tokens per tenant in any window of an hour.

    A call first reserves what it may use (its estimated prompt and its completion limit): the
    reservation is refused when it does not fit beside what the tenant used in the last hour,
    and counts at once, so concurrent calls cannot pass the budget together. Once the call is
    over, the reservation is settled to what it did use.
    """

    per_hour: int
    clock: Callable[[], float] = time.monotonic
    _spent: dict[UUID, deque[Spend]] = field(default_factory=dict)

    def used(self, tenant: UUID) -> int:
        spent = self._spent.get(tenant)
        if not spent:
            return 0
        horizon = self.clock() - WINDOW_SECONDS
        while spent and spent[0].at <= horizon:
            spent.popleft()
        if not spent:
            del self._spent[tenant]
            return 0
        return sum(s.tokens for s in spent)

    def reserve(self, tenant: UUID, tokens: int) -> Spend | None:
        """A reservation of ``tokens``, or ``None`` when they do not fit."""
        if self.used(tenant) + tokens > self.per_hour:
            return None
        spend = Spend(self.clock(), tokens)
        self._spent.setdefault(tenant, deque()).append(spend)
        return spend

    @staticmethod
    def settle(spend: Spend, tokens: int) -> None:
        """What a reserved call did use (0 when it used nothing)."""
        spend.tokens = max(0, tokens)
