"""The request log: what each request asked for and how it was answered.

Tests assert on it (how many requests, which root fields, how many token exchanges), so it
records the *outcome* too: HTTP status, which fault fired, the GraphQL error messages. It
never holds a secret: no Authorization header (only whether the token was live), variables
given to (or named like) a secret argument masked, and query text only in its masked,
re-printed form.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request, as answered.

    `operation_type` is `query`/`mutation` (None if the body held no runnable operation);
    `root_fields` are the operation's root field names (not aliases); `authorized` says a
    live bearer token came with it; `token_exchange` that it selected `apiKeyUser`;
    `query` and `variables` are the masked forms (see `documents.PreparedDocument`);
    `fault` names the fault switch that shaped the answer, if any; `errors` are the GraphQL
    error messages sent; `connection` numbers the TCP connection (equal numbers: keep-alive).
    """

    method: str
    path: str
    status: int
    operation_type: str | None = None
    operation_name: str | None = None
    root_fields: tuple[str, ...] = ()
    authorized: bool = False
    token_exchange: bool = False
    fault: str | None = None
    errors: tuple[str, ...] = ()
    query: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    connection: int = 0


class RequestLog:
    """A thread-safe, append-only list of `RequestRecord`s."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
