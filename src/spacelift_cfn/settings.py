"""The function's configuration, read from its environment.

Read per invocation (it is cheap) so a misconfigured function answers every
request with a clear FAILED reason instead of failing at import time.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from spacelift_cfn.errors import (
    SECRET_ACCESS_DENIED,
    SECRET_DECRYPTION_FAILURE,
    SECRET_EMPTY,
    SECRET_KMS_DENIED,
    SECRET_NOT_FOUND,
    SECRET_SCHEDULED_FOR_DELETION,
    SECRET_UNREADABLE,
    ConfigurationError,
)

ENDPOINT = "SPACELIFT_API_KEY_ENDPOINT"
KEY_ID = "SPACELIFT_API_KEY_ID"
SECRET = "SPACELIFT_API_KEY_SECRET"
SECRET_ARN = "SPACELIFT_API_KEY_SECRET_ARN"

#: How long the API key secret read from Secrets Manager is cached per container.
SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class Settings:
    graphql_url: str
    api_key_id: str
    api_key_secret: str | None
    api_key_secret_arn: str | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        endpoint = environ.get(ENDPOINT, "").strip()
        key_id = environ.get(KEY_ID, "").strip()
        secret = environ.get(SECRET) or None
        secret_arn = environ.get(SECRET_ARN, "").strip() or None
        missing = [name for name, value in ((ENDPOINT, endpoint), (KEY_ID, key_id)) if not value]
        if not secret and not secret_arn:
            missing.append(SECRET_ARN)
        if missing:
            raise ConfigurationError(
                f"The provider function is missing {', '.join(missing)}; "
                "set them in the function's environment (template.yaml parameters)."
            )
        return cls(graphql_url(endpoint), key_id, secret, secret_arn)

    def read_secret(self) -> str:
        """The API key secret: from the environment, else Secrets Manager (cached)."""
        if self.api_key_secret:
            return self.api_key_secret
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = secrets_provider().get(self.api_key_secret_arn or "", max_age=SECRET_MAX_AGE_SECONDS)
        except GetParameterError as error:
            reason = secret_error_reason(error.__cause__ or error.__context__)
            if reason is None:
                raise
            raise ConfigurationError(reason) from error
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(SECRET_EMPTY.reason())
        return value.strip()


def secret_error_reason(cause: BaseException | None) -> str | None:
    """The Reason for Secrets Manager's refusal ``cause`` (a botocore ClientError), or None.

    Powertools wraps every failure of ``get`` in GetParameterError, with the original as its
    context: only an AWS error response (the codes GetSecretValue documents) is translated;
    anything else (a network failure, a bug) stays an internal error.
    """
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error") or {}
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    if not code:
        return None
    if code == "ResourceNotFoundException":
        return SECRET_NOT_FOUND.reason()
    if code == "AccessDeniedException" and "kms" in message.lower():
        return SECRET_KMS_DENIED.reason()
    if code == "AccessDeniedException":
        return SECRET_ACCESS_DENIED.reason()
    if code == "DecryptionFailure":
        return SECRET_DECRYPTION_FAILURE.reason()
    if code == "InvalidRequestException" and "delet" in message.lower():
        return SECRET_SCHEDULED_FOR_DELETION.reason()
    return SECRET_UNREADABLE.reason(code=code[:60])


@cache
def secrets_provider() -> Any:
    """Powertools' Secrets Manager provider (it caches values), on boto3's default session.

    Imported and built on first use: only the Secrets Manager path needs boto3. Sharing the
    default session with the idempotency table's client loads botocore's models once.
    """
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=boto3.client("secretsmanager"))


def graphql_url(endpoint: str) -> str:
    """Normalise the endpoint to ``…/graphql``; refuse plain HTTP except on loopback.

    Accepts the base URL (as the Terraform provider and spacectl take it) and the
    full ``/graphql`` URL (as the official Python example takes it).
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{ENDPOINT} must be an https:// URL such as https://acme.app.spacelift.io")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{ENDPOINT} uses plain http:// for {parts.hostname}; use https:// "
            "(http is only allowed for loopback hosts used in local tests)."
        )
    base = endpoint.rstrip("/")
    base = base.removesuffix("/graphql").rstrip("/")
    return f"{base}/graphql"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
