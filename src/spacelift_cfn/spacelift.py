"""The one Spacelift GraphQL client.

What it takes care of, so the resource modules do not have to:

* API key → JWT exchange (``apiKeyUser``), cached until shortly before
  ``validUntil`` and redone once when the API answers ``unauthorized``.
* GraphQL errors arrive with HTTP 200; they become :class:`GraphQLError`.
* Bounded retries with backoff and jitter on connection errors, 5xx and 429
  (honouring ``Retry-After``), never past the caller's :class:`Deadline`.
* A mutation that is not safe to repeat (create, attach) is never retried
  blindly: when the server may have applied it, :class:`OutcomeUnknown` lets
  the caller look before trying again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from spacelift_cfn import __version__
from spacelift_cfn.deadline import Deadline
from spacelift_cfn.errors import DeadlineExceeded, GraphQLError, OutcomeUnknown, SpaceliftError
from spacelift_cfn.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 25.0
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 8.0
#: Exchange the API key again this long before the token's ``validUntil``.
TOKEN_REFRESH_MARGIN_SECONDS = 60

_EXCHANGE = (
    "mutation GetSpaceliftToken($id: ID!, $secret: String!) "
    "{ apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }"
)


@dataclass(frozen=True)
class Variable:
    """A GraphQL variable, declared once: its declaration, the argument it fills, its value."""

    name: str
    type: str
    value: Any
    #: The argument it is passed to, when that is not spelled like the variable.
    argument: str = ""

    @property
    def declaration(self) -> str:
        return f"${self.name}: {self.type}"

    @property
    def passed(self) -> str:
        return f"{self.argument or self.name}: ${self.name}"


def arguments(variables: Iterable[Variable]) -> str:
    """``variables`` passed as a field's arguments: ``id: $id, stack: $stack``."""
    return ", ".join(variable.passed for variable in variables)


def document(operation: str, variables: Sequence[Variable], body: str) -> tuple[str, dict[str, Any]]:
    """The text of ``operation`` (``"mutation AWSIntegrationAttach"``) declaring ``variables``
    around ``body``, and the variables' values: both from the one list."""
    declared = f"({', '.join(variable.declaration for variable in variables)})" if variables else ""
    return f"{operation}{declared} {{ {body} }}", {variable.name: variable.value for variable in variables}


#: The attach's role-assumption failure (docs/spacelift-api.md, "Error texts the code matches").
#: Some wordings put "unauthorized" in it: it is about the role, never about the token.
TRUST_ERROR = "you need to configure trust relationship"


class _Transient(Exception):
    """A failure worth retrying; ``sent`` tells whether the server may have acted."""

    def __init__(self, reason: str, *, sent: bool, wait: float | None = None) -> None:
        super().__init__(reason)
        self.sent = sent
        self.wait = wait


@dataclass
class _Token:
    jwt: str
    valid_until: float


@dataclass
class SpaceliftClient:
    """Talks to one Spacelift account with one API key; keep one per container."""

    settings: Settings
    session: requests.Session = field(default_factory=requests.Session)
    _token: _Token | None = None
    _api_key_secret: str = ""

    def query(self, document: str, variables: Mapping[str, Any], deadline: Deadline) -> dict[str, Any]:
        """Run a query; queries are always safe to retry."""
        return self._execute(document, variables, deadline, repeatable=True)

    def mutate(
        self,
        document: str,
        variables: Mapping[str, Any],
        deadline: Deadline,
        *,
        repeatable: bool,
    ) -> dict[str, Any]:
        """Run a mutation. ``repeatable`` says whether running it twice is harmless."""
        return self._execute(document, variables, deadline, repeatable=repeatable)

    def secrets(self) -> list[str]:
        """Values that must never appear in output (for redaction)."""
        values = [self._api_key_secret, self._token.jwt if self._token else ""]
        return [value for value in values if value]

    def _execute(
        self, document: str, variables: Mapping[str, Any], deadline: Deadline, *, repeatable: bool
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            jwt = self._jwt(deadline)
            body = self._post({"query": document, "variables": dict(variables)}, jwt, deadline, repeatable)
            errors = body.get("errors")
            data = body.get("data")
            if not errors:
                if not isinstance(data, dict):
                    raise SpaceliftError("Spacelift answered without data; try again later.")
                return data
            error = GraphQLError(_errors(errors), data if isinstance(data, dict) else None)
            token_refused = error.mentions("unauthorized") and not error.mentions(TRUST_ERROR)
            if token_refused and attempt == 1:
                self._token = None  # expired or revoked: exchange the key once more
                continue
            if token_refused:
                raise SpaceliftError(
                    "Spacelift answered unauthorized: check that the API key is an admin key "
                    "with access to the integration's space (use a space ID, not its name)."
                ) from error
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _jwt(self, deadline: Deadline) -> str:
        token = self._token
        if token and time.time() + TOKEN_REFRESH_MARGIN_SECONDS < token.valid_until:
            return token.jwt
        secret = self._api_key_secret = self.settings.read_secret()
        variables = {"id": self.settings.api_key_id, "secret": secret}
        body = self._post({"query": _EXCHANGE, "variables": variables}, None, deadline, True)
        user = (body.get("data") or {}).get("apiKeyUser")
        if body.get("errors") or not isinstance(user, dict):
            if body.get("errors"):
                raise SpaceliftError(
                    "Spacelift refused the API key secret: check the secret stored under "
                    "SPACELIFT_API_KEY_SECRET_ARN for the key SPACELIFT_API_KEY_ID."
                )
            raise SpaceliftError(
                "Spacelift knows no API key with the ID in SPACELIFT_API_KEY_ID; check the key ID."
            )
        jwt, valid_until = user.get("jwt"), user.get("validUntil")
        if not isinstance(jwt, str) or not isinstance(valid_until, int | float):
            raise SpaceliftError("Spacelift answered the API key exchange without a token; try again.")
        self._token = _Token(jwt, float(valid_until))
        return jwt

    def _post(
        self, payload: Mapping[str, Any], jwt: str | None, deadline: Deadline, repeatable: bool
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "User-Agent": f"spacelift-cfn/{__version__}"}
        if jwt:
            headers["Authorization"] = f"Bearer {jwt}"
        last: _Transient | None = None
        for attempt in range(MAX_ATTEMPTS):
            if last is not None and not self._wait_before_retry(attempt, last, deadline):
                break
            try:
                return self._post_once(payload, headers, deadline)
            except _Transient as transient:
                if transient.sent and not repeatable:
                    raise OutcomeUnknown(
                        f"Spacelift did not confirm the change ({transient}); it may or may not have "
                        "been applied."
                    ) from None
                last = transient
            except DeadlineExceeded:
                break
        reason = f" (last error: {last})" if last else ""
        raise SpaceliftError(
            f"Spacelift did not answer in time{reason}; check that Spacelift is reachable "
            "from the function and try again."
        )

    def _wait_before_retry(self, attempt: int, last: _Transient, deadline: Deadline) -> bool:
        """Sleep before the next attempt; False when the deadline leaves no time for it."""
        backoff = random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))
        wait = max(last.wait or 0.0, backoff)
        if wait < deadline.remaining():
            time.sleep(wait)
            return True
        if last.wait is not None and last.wait >= deadline.remaining():
            raise SpaceliftError(
                f"Spacelift asked to retry later ({last}) and the function has no time left to wait; "
                "try again later."
            )
        return False

    def _post_once(
        self, payload: Mapping[str, Any], headers: Mapping[str, str], deadline: Deadline
    ) -> dict[str, Any]:
        timeout = (
            deadline.timeout(CONNECT_TIMEOUT_SECONDS),
            deadline.timeout(READ_TIMEOUT_SECONDS),
        )
        try:
            response = self.session.post(
                self.settings.graphql_url, json=payload, headers=headers, timeout=timeout
            )
        except requests.exceptions.SSLError:
            raise SpaceliftError(
                "The TLS certificate of SPACELIFT_API_KEY_ENDPOINT could not be verified; check the URL."
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise _Transient("connection timed out", sent=False) from None
        except requests.exceptions.Timeout:
            raise _Transient("read timed out", sent=True) from None
        except requests.exceptions.ConnectionError as error:
            sent = not _never_connected(error)
            raise _Transient("connection failed" if not sent else "connection lost", sent=sent) from None
        status = response.status_code
        if status == 429:
            raise _Transient("HTTP 429 too many requests", sent=False, wait=_retry_after(response))
        if status >= 500 and status != 501:
            raise _Transient(f"HTTP {status}", sent=True, wait=_retry_after(response))
        if status != 200:
            raise SpaceliftError(f"Spacelift answered HTTP {status}; check SPACELIFT_API_KEY_ENDPOINT.")
        try:
            body = response.json()
        except ValueError:
            raise _Transient("malformed JSON in the answer", sent=True) from None
        if not isinstance(body, dict):
            raise _Transient("unexpected JSON in the answer", sent=True)
        return body


def _errors(errors: object) -> list[tuple[str, tuple[object, ...]]]:
    """``(message, path)`` of each GraphQL error."""
    if not isinstance(errors, list) or not errors:
        return [(str(errors), ())]
    parsed = []
    for error in errors:
        if isinstance(error, dict):
            path = error.get("path")
            parsed.append((str(error.get("message", error)), tuple(path) if isinstance(path, list) else ()))
        else:
            parsed.append((str(error), ()))
    return parsed


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """True when the request cannot have reached the server (refused, DNS, connect timeout)."""
    from urllib3.exceptions import (
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
    )

    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError)
