"""A token bucket on a caller-given clock: the pacing of WebSocket metric frames and the
per-channel notification rate limit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """Tokens accrue at ``rate`` per second up to ``burst``; each send spends one."""

    rate: float
    burst: float
    tokens: float
    stamp: float  # clock time of ``tokens``

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, stamp=now)

    @classmethod
    def after_snapshot(cls, interval: float, burst: float, now: float) -> TokenBucket:
        """One token per ``interval``, full less the token a subscription's snapshot spent."""
        return cls(rate=1.0 / interval, burst=burst, tokens=burst - 1.0, stamp=now)

    def take(self, now: float) -> float:
        """Spend a token and return 0 when there is one; otherwise the seconds until one."""
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return 0.0
        self.tokens = tokens
        return (1.0 - tokens) / self.rate
