"""Per-tenant token budgets over a sliding hour (in memory, per replica)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

WINDOW_SECONDS = 3600.0


@dataclass
class TokenBudget:
    """At most ``per_hour`` tokens per tenant in any window of an hour.

    A call is let through only when the tokens it may use (its estimated prompt and its
    completion limit) fit beside what the tenant used in the last hour; what it did use is
    recorded afterwards.
    """

    per_hour: int
    clock: Callable[[], float] = time.monotonic
    _used: dict[UUID, deque[tuple[float, int]]] = field(default_factory=dict)

    def used(self, tenant: UUID) -> int:
        spent = self._used.get(tenant)
        if not spent:
            return 0
        horizon = self.clock() - WINDOW_SECONDS
        while spent and spent[0][0] <= horizon:
            spent.popleft()
        return sum(tokens for _, tokens in spent)

    def allows(self, tenant: UUID, tokens: int) -> bool:
        return self.used(tenant) + tokens <= self.per_hour

    def record(self, tenant: UUID, tokens: int) -> None:
        if tokens > 0:
            self._used.setdefault(tenant, deque()).append((self.clock(), tokens))
