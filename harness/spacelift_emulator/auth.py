"""API keys and the bearer tokens `apiKeyUser` exchanges them for.

The real tokens are JWTs whose `aud` claim is the account endpoint (spacectl reads the
endpoint from it). Ours look the same (three base64url parts, `aud` = the emulator's base URL)
but carry a random signature: the server only ever looks them up in its own table, so a
client that inspects nothing but `aud`/`exp` sees what it would see in production.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .state import ApiError


@dataclass(frozen=True)
class Grant:
    """The `User` that `apiKeyUser` returns."""

    id: str
    jwt: str
    valid_until: int


@dataclass(frozen=True)
class _Issued:
    key_id: str
    valid_until: int
    epoch: int


class Tokens:
    """Key table, issued tokens, and the count of successful exchanges (each one is billed)."""

    def __init__(self, lifetime: int, clock: Callable[[], float]) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._keys: dict[str, str] = {}
        #: The spaces each key is admin of; a key not listed here is admin of root (everything).
        self._admin_spaces: dict[str, frozenset[str]] = {}
        self._issued: dict[str, _Issued] = {}
        self._epoch = 0
        self._exchanges = 0
        self._lock = threading.Lock()

    def add_key(self, key_id: str, secret: str, admin_spaces: frozenset[str] | None = None) -> None:
        """Register a key; `admin_spaces` limits its admin role to those spaces (and below)."""
        with self._lock:
            self._keys[key_id] = secret
            if admin_spaces is None:
                self._admin_spaces.pop(key_id, None)
            else:
                self._admin_spaces[key_id] = admin_spaces

    def admin_spaces(self, key_id: str) -> frozenset[str] | None:
        """The spaces `key_id` administers, None when it administers every space."""
        with self._lock:
            return self._admin_spaces.get(key_id)

    def key_ids(self) -> list[str]:
        with self._lock:
            return list(self._keys)

    def exchange(self, key_id: str, secret: str, audience: str) -> Grant | None:
        """An unknown key ID gives None (`apiKeyUser: null`); a wrong secret an error."""
        with self._lock:
            expected = self._keys.get(key_id)
            if expected is None:
                return None
            if not hmac.compare_digest(expected.encode(), secret.encode()):
                raise ApiError("unauthorized")
            now = int(self._clock())
            valid_until = now + self._lifetime
            jwt = _jwt_like(
                {"aud": audience, "sub": key_id, "iat": now, "exp": valid_until, "jti": secrets.token_hex(8)}
            )
            self._issued[jwt] = _Issued(key_id, valid_until, self._epoch)
            self._exchanges += 1
            return Grant(key_id, jwt, valid_until)

    def identify(self, authorization: str | None) -> str | None:
        """The key ID behind an `Authorization: Bearer <jwt>` header, if the token is live."""
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            issued = self._issued.get(token.strip())
            if issued is None or issued.epoch != self._epoch or self._clock() >= issued.valid_until:
                return None
            return issued.key_id

    def expire_all(self) -> None:
        """Every token issued so far stops working; later exchanges give working ones."""
        with self._lock:
            self._epoch += 1

    @property
    def exchanges(self) -> int:
        with self._lock:
            return self._exchanges

    def reset_count(self) -> None:
        with self._lock:
            self._exchanges = 0


def _jwt_like(claims: dict[str, object]) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32)]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts)
