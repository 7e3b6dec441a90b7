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
* A misconfiguration (wrong endpoint, key ID, secret, a key without admin rights,
  an account without AWS integrations) fails with the Reason that names the
  setting and the fix (``errors.MISCONFIGURATIONS``).
* Retries, 429s, token exchanges and trust-relationship refusals are counted in
  the invocation's metrics (``observability``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from spacelift_cfn import __version__, observability
from spacelift_cfn.deadline import Deadline
from spacelift_cfn.errors import (
    AWS_INTEGRATIONS_DISABLED,
    ENDPOINT_NOT_SPACELIFT,
    ENDPOINT_TLS,
    ENDPOINT_UNRESOLVED,
    KEY_ID_UNKNOWN,
    KEY_NOT_ADMIN,
    KEY_SECRET_REFUSED,
    DeadlineExceeded,
    GraphQLError,
    OutcomeUnknown,
    SpaceliftError,
)
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
#: Asked only after an unexplained refusal: whether the account has AWS integrations at all.
_INTEGRATIONS_ENABLED = "query AwsIntegrationsEnabled { awsIntegrationsEnabled }"


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

    def __init__(
        self, reason: str, *, sent: bool, wait: float | None = None, unresolved: bool = False
    ) -> None:
        super().__init__(reason)
        self.sent = sent
        self.wait = wait
        #: The endpoint's host name did not resolve (DNS).
        self.unresolved = unresolved


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
    #: The account answered awsIntegrationsEnabled = true once: no need to ask again.
    _integrations_enabled: bool = False

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
            if error.mentions(TRUST_ERROR):
                observability.count(observability.TRUST_RELATIONSHIP_ERRORS)
            token_refused = error.mentions("unauthorized") and not error.mentions(TRUST_ERROR)
            if token_refused and attempt == 1:
                self._token = None  # expired or revoked: exchange the key once more
                continue
            if (token_refused or _unexplained(error)) and self._integrations_disabled(deadline):
                raise SpaceliftError(AWS_INTEGRATIONS_DISABLED.reason()) from error
            if token_refused:
                raise SpaceliftError(KEY_NOT_ADMIN.reason()) from error
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _integrations_disabled(self, deadline: Deadline) -> bool:
        """Whether the account answers ``awsIntegrationsEnabled: false``.

        How Spacelift refuses AWS integration calls in an account without them is not public
        (an error, or ``unauthorized``): this one extra query, made only after such a refusal,
        tells it apart from a key without rights. Any failure of the query itself says nothing.
        """
        if self._integrations_enabled or self._token is None:
            return False
        try:
            body = self._post(
                {"query": _INTEGRATIONS_ENABLED, "variables": {}}, self._token.jwt, deadline, True
            )
        except (SpaceliftError, DeadlineExceeded):
            return False
        enabled = (body.get("data") or {}).get("awsIntegrationsEnabled")
        self._integrations_enabled = enabled is True
        return enabled is False

    def _jwt(self, deadline: Deadline) -> str:
        token = self._token
        if token and time.time() + TOKEN_REFRESH_MARGIN_SECONDS < token.valid_until:
            return token.jwt
        secret = self._api_key_secret = self.settings.read_secret()
        variables = {"id": self.settings.api_key_id, "secret": secret}
        body = self._post({"query": _EXCHANGE, "variables": variables}, None, deadline, True)
        if "data" not in body and "errors" not in body:
            raise SpaceliftError(
                ENDPOINT_NOT_SPACELIFT.reason(answer="JSON that is not GraphQL", url=self._url())
            )
        user = (body.get("data") or {}).get("apiKeyUser")
        if body.get("errors") or not isinstance(user, dict):
            if body.get("errors"):
                raise SpaceliftError(KEY_SECRET_REFUSED.reason())
            raise SpaceliftError(KEY_ID_UNKNOWN.reason())
        jwt, valid_until = user.get("jwt"), user.get("validUntil")
        if not isinstance(jwt, str) or not isinstance(valid_until, int | float):
            raise SpaceliftError("Spacelift answered the API key exchange without a token; try again.")
        self._token = _Token(jwt, float(valid_until))
        observability.count(observability.TOKEN_EXCHANGES)
        return jwt

    def _url(self) -> str:
        """The GraphQL URL without query or fragment, safe to show in a Reason."""
        parts = urlsplit(self.settings.graphql_url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"[:200]

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
        if last is not None and last.unresolved:
            host = urlsplit(self.settings.graphql_url).hostname or "?"
            raise SpaceliftError(ENDPOINT_UNRESOLVED.reason(host=host[:120]))
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
            observability.count(observability.SPACELIFT_RETRIES)
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
            raise SpaceliftError(ENDPOINT_TLS.reason()) from None
        except requests.exceptions.ConnectTimeout:
            raise _Transient("connection timed out", sent=False) from None
        except requests.exceptions.Timeout:
            raise _Transient("read timed out", sent=True) from None
        except requests.exceptions.ConnectionError as error:
            sent = not _never_connected(error)
            unresolved = _unresolved(error)
            reason = (
                "host name not resolved" if unresolved else "connection lost" if sent else "connection failed"
            )
            raise _Transient(reason, sent=sent, unresolved=unresolved) from None
        status = response.status_code
        if status == 429:
            observability.count(observability.SPACELIFT_THROTTLED)
            raise _Transient("HTTP 429 too many requests", sent=False, wait=_retry_after(response))
        if status >= 500 and status != 501:
            raise _Transient(f"HTTP {status}", sent=True, wait=_retry_after(response))
        if status != 200:
            raise SpaceliftError(ENDPOINT_NOT_SPACELIFT.reason(answer=f"HTTP {status}", url=self._url()))
        if "html" in response.headers.get("Content-Type", "").lower():
            # A web page where the API should be: the endpoint is not a GraphQL API.
            raise SpaceliftError(ENDPOINT_NOT_SPACELIFT.reason(answer="an HTML page", url=self._url()))
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


def _unexplained(error: GraphQLError) -> bool:
    """A refusal the resource modules do not handle themselves (absent objects, the role's
    trust, partial results): worth asking whether AWS integrations are enabled at all."""
    return not (error.not_found or error.nested or error.mentions(TRUST_ERROR))


def _unresolved(error: requests.exceptions.ConnectionError) -> bool:
    """True when the endpoint's host name did not resolve (DNS)."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NameResolutionError)


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
