"""Time budgets derived from the Lambda context.

CloudFormation waits for exactly one answer; if the function is killed at its
timeout no answer is ever sent and the stack hangs until ``ServiceTimeout``.
So the work gets the remaining time minus a reserve kept for the response PUT,
and every network call is bounded by what is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from spacelift_cfn.errors import DeadlineExceeded


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


RESPONSE_RESERVE_SHARE = 0.1
RESPONSE_RESERVE_MIN_SECONDS = 1.0
RESPONSE_RESERVE_MAX_SECONDS = 8.0


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_work(cls, context: LambdaContextLike) -> tuple[Deadline, Deadline]:
        """The deadlines for the work and for the response PUT that follows it."""
        remaining = max(context.get_remaining_time_in_millis(), 0) / 1000
        reserve = min(
            max(remaining * RESPONSE_RESERVE_SHARE, RESPONSE_RESERVE_MIN_SECONDS),
            RESPONSE_RESERVE_MAX_SECONDS,
        )
        now = time.monotonic()
        # Keep a sliver after the PUT so the function returns before Lambda kills it.
        final = now + max(remaining - 0.2, 0)
        return cls(max(now, final - reserve)), cls(final)

    def remaining(self) -> float:
        return max(self.at - time.monotonic(), 0.0)

    def timeout(self, preferred: float) -> float:
        """A socket timeout that never outlives the deadline."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded("no time left")
        return min(preferred, left)

    def sleep(self, seconds: float) -> None:
        """Sleep, or raise at once if the sleep would pass the deadline."""
        if seconds >= self.remaining():
            raise DeadlineExceeded("no time left to wait for a retry")
        time.sleep(seconds)
