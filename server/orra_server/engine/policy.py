"""How long a step may take and how often it is tried: defaults < service < orchestration.

A service sets its own at registration (``policy``), a caller per orchestration (``options``);
each field overrides only itself. Backoff is exponential with "equal jitter" (half the delay
fixed, half random), so retries of many orchestrations after one outage do not arrive in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from ..settings import Settings

__all__ = ["FIELDS", "RetryPolicy", "resolve_policy"]

#: JSON field (as callers write it) -> RetryPolicy attribute
FIELDS = {
    "timeoutSeconds": "timeout",
    "maxAttempts": "max_attempts",
    "initialDelaySeconds": "initial_delay",
    "backoffMultiplier": "backoff",
    "maxDelaySeconds": "max_delay",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    #: seconds one attempt may run before it counts as timed out
    timeout: float
    #: dispatches of one step in all, the first included
    max_attempts: int
    initial_delay: float
    backoff: float
    max_delay: float

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt after ``failed_attempts`` failures."""
        ceiling = min(self.max_delay, self.initial_delay * self.backoff ** (failed_attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    @classmethod
    def defaults(cls, settings: Settings) -> RetryPolicy:
        return cls(
            timeout=settings.step_timeout_seconds,
            max_attempts=settings.retry_max_attempts,
            initial_delay=settings.retry_initial_delay,
            backoff=settings.retry_backoff,
            max_delay=settings.retry_max_delay,
        )


def resolve_policy(base: RetryPolicy, *overrides: dict[str, Any] | None) -> RetryPolicy:
    """``base`` with each override's fields applied in order (later ones win)."""
    policy = base
    for override in overrides:
        if not override:
            continue
        changes = {FIELDS[k]: v for k, v in override.items() if k in FIELDS and v is not None}
        if changes:
            policy = replace(policy, **changes)
    return policy
