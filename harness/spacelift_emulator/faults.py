"""Fault switches: the failures a client of the real API has to survive, on demand.

Counted faults take `n`: the next n matching requests get the fault, `-1` means every one from
now on, `0` arms nothing. With `field=...` a fault only matches requests whose operation
selects that root field (e.g. `awsIntegrationCreate`), and only those use up its count.
Faults armed earlier fire first. When several kinds could apply to one request, the outermost
layer wins, in this order: `rate_limit`, `throttle_next`, `fail_next`, `malformed_next`;
those answer without executing anything. `hang_next` and `fail_after_apply_next` execute the
operation first (so a mutation *is* applied) and then stall or fail the answer: the client
cannot tell whether its request took effect, which is the case it must handle. `latency`
likewise delays every answer, not the handling: each request is decided (and logged) on
arrival, so nothing takes effect late, after a test has moved on.

Every switch is thread-safe, and `reset()` disarms all of them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

NotFoundStyle = Literal["null", "error"]


@dataclass(frozen=True)
class CannedResponse:
    """An HTTP answer a fault substitutes for the GraphQL one; `fault` names the switch."""

    fault: str
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Rule:
    kind: Literal["fail", "fail_after_apply", "throttle", "malformed", "hang", "trust"]
    remaining: int  # -1: forever
    field: str | None
    response: CannedResponse | None = None
    seconds: float = 0.0


class _TokenBucket:
    """`rps` tokens a second, holding at most `burst`; one request takes one token."""

    def __init__(self, rps: float, burst: int) -> None:
        self.rps = rps
        self.burst = burst
        self.tokens = float(burst)
        self.last = time.monotonic()

    def wait_needed(self) -> float:
        """0 if the request may pass (its token is taken), else seconds until one is free."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rps)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rps


class Faults:
    """The emulator's fault switches (see the module docstring for how they combine)."""

    def __init__(self, expire_tokens: Callable[[], None]) -> None:
        self._expire_tokens = expire_tokens
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._latency = 0.0
        self._bucket: _TokenBucket | None = None
        self._not_found_style: NotFoundStyle = "null"

    # ---------------------------------------------------------------- switches

    @property
    def latency(self) -> float:
        """Seconds added to every answer (the request itself is handled on arrival)."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = seconds

    @property
    def not_found_style(self) -> NotFoundStyle:
        """How lookups of absent objects answer: `null` (default) or an error `... not found`.

        Applies to `awsIntegration`, `awsIntegrationByName` and `attachedStack`, the queries for
        which the reference documents both behaviours, and to `externalIdForStack` of a stack or
        module that does not exist, for which it documents neither.
        """
        with self._lock:
            return self._not_found_style

    @not_found_style.setter
    def not_found_style(self, style: NotFoundStyle) -> None:
        if style not in ("null", "error"):
            raise ValueError("not_found_style must be 'null' or 'error'")
        with self._lock:
            self._not_found_style = style

    def fail_next(
        self, n: int = 1, status: int = 503, body: str = "Service Unavailable", *, field: str | None = None
    ) -> None:
        """Answer the next n requests with HTTP `status` and a plain `body`, executing nothing."""
        self._arm(_Rule("fail", _count(n), field, CannedResponse("fail", status, body.encode())))

    def fail_after_apply_next(
        self, n: int = 1, status: int = 503, body: str = "Service Unavailable", *, field: str | None = None
    ) -> None:
        """Execute the next n requests (mutations take effect), then answer HTTP `status`."""
        self._arm(
            _Rule(
                "fail_after_apply",
                _count(n),
                field,
                CannedResponse("fail_after_apply", status, body.encode()),
            )
        )

    def throttle_next(self, n: int = 1, retry_after: int | None = 1, *, field: str | None = None) -> None:
        """Answer 429 to the next n requests, with `Retry-After` unless `retry_after` is None."""
        self._arm(_Rule("throttle", _count(n), field, _too_many_requests("throttle", retry_after)))

    def rate_limit(self, rps: float | None, burst: int | None = None) -> None:
        """Answer 429 + `Retry-After` beyond `rps` requests a second (burst defaults to
        max(1, rps)); `None` lifts the limit."""
        if rps is not None and rps <= 0:
            raise ValueError("rps must be > 0 (or None to lift the limit)")
        with self._lock:
            self._bucket = None if rps is None else _TokenBucket(rps, burst or max(1, math.ceil(rps)))

    def malformed_next(self, n: int = 1, *, field: str | None = None) -> None:
        """Answer HTTP 200 with a truncated, invalid JSON body, executing nothing."""
        body = b'{"data":{"awsIntegration'
        self._arm(
            _Rule("malformed", _count(n), field, CannedResponse("malformed", 200, body, "application/json"))
        )

    def hang_next(self, n: int = 1, seconds: float = 5.0, *, field: str | None = None) -> None:
        """Execute the next n requests, then wait `seconds` before answering (read timeouts)."""
        self._arm(_Rule("hang", _count(n), field, seconds=seconds))

    def trust_failures(self, n: int = 1) -> None:
        """Make the role assumption test of the next n attaches (or attachment updates) fail
        with `you need to configure trust relationship ...`; -1: always; 0: stop."""
        with self._lock:
            self._rules = [r for r in self._rules if r.kind != "trust"]
        self._arm(_Rule("trust", _count(n), None))

    def expire_tokens(self) -> None:
        """Expire every token issued so far: the next call with one errors `unauthorized`."""
        self._expire_tokens()

    def reset(self) -> None:
        """Disarm everything. Tokens already expired stay expired."""
        with self._lock:
            self._rules.clear()
            self._latency = 0.0
            self._bucket = None
            self._not_found_style = "null"

    # ---------------------------------------------------------------- used by the server

    def screen(self, fields: Collection[str]) -> CannedResponse | None:
        """The answer that replaces execution for this request, if any fault says so."""
        with self._lock:
            if self._bucket is not None and (wait := self._bucket.wait_needed()) > 0:
                return _too_many_requests("rate_limit", max(1, math.ceil(wait)))
        for kind in ("throttle", "fail", "malformed"):
            rule = self._take(kind, fields)
            if rule is not None:
                return rule.response
        return None

    def after_apply(self, fields: Collection[str]) -> CannedResponse | None:
        """The answer that replaces the (already executed) GraphQL result, if any."""
        rule = self._take("fail_after_apply", fields)
        return None if rule is None else rule.response

    def hang_seconds(self, fields: Collection[str]) -> float:
        rule = self._take("hang", fields)
        return 0.0 if rule is None else rule.seconds

    def take_trust_failure(self) -> bool:
        return self._take("trust", ()) is not None

    # ---------------------------------------------------------------- internals

    def _arm(self, rule: _Rule) -> None:
        if rule.remaining != 0:
            with self._lock:
                self._rules.append(rule)

    def _take(self, kind: str, fields: Collection[str]) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind == kind and (rule.field is None or rule.field in fields):
                    if rule.remaining > 0:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule
        return None


def _count(n: int) -> int:
    if n < -1:
        raise ValueError("n must be a count >= 0, or -1 for always")
    return n


def _too_many_requests(fault: str, retry_after: int | None) -> CannedResponse:
    headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
    return CannedResponse(fault, 429, b"Too Many Requests", headers=headers)
